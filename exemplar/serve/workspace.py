"""``Workspace``: the server's own temporary folder, the only place a request can make it read or write.

Requests never carry paths. An upload is streamed into ``uploads/<id>`` under a name the server
makes up (random hex), and is known afterwards only by that id; the user's file name is kept as a
label for messages and download names, never joined to a path. Ids from a request are looked up
in a dict, so ``../../etc/passwd`` is simply an unknown id.

An upload is checked as soon as it arrives (with the same reader the CLI uses), so "not an image",
"too many megapixels" and "a black-and-white reference" are answered while the user is still
choosing files, not after a queue wait. At most one upload is decoded at a time, so uploads and
the colorizing worker together hold at most two full-size images in memory.
"""

import re
import secrets
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import cv2

ROLES = ("target", "reference", "palette", "video")
PREVIEW_SIDE = {"target": 1280, "reference": 256, "palette": 256, "video": 1280}  # long side of the page's previews
MAX_UPLOADS = 256  # older uploads are forgotten (and deleted) past this, so the disk stays bounded
_ID = re.compile(r"[0-9a-f]{16}")


class UploadError(Exception):
    """An upload the server refuses; the message is shown on the page as it is."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


@dataclass
class Upload:
    """A checked upload: where it lies in the workspace and what the page needs to show it."""

    id: str
    role: str
    name: str  # the user's file name, a label only
    path: Path
    preview: Path
    info: dict = field(default_factory=dict)  # width, height, bit depth, alpha, grey, palette colours


class Workspace:
    """A temporary folder (deleted by :meth:`close`) holding uploads, job outputs and thumbnails."""

    def __init__(self, max_upload_bytes, max_pixels):
        self.root = Path(tempfile.mkdtemp(prefix="exemplar-serve-"))
        for sub in ("uploads", "jobs", "library"):
            (self.root / sub).mkdir()
        self.max_upload_bytes = max_upload_bytes
        self.max_pixels = max_pixels
        self._uploads = OrderedDict()
        self._lock = threading.Lock()
        self._decode = threading.Semaphore(1)  # one upload decoded at a time: memory stays bounded

    # ------------------------------------------------------------------ receiving

    def new_upload_path(self):
        """-> (id, path) for a file about to be streamed in."""
        upload_id = secrets.token_hex(8)
        return upload_id, self.root / "uploads" / upload_id

    def too_big(self, name, size):
        """The message for an upload of ``size`` bytes over the limit, or None."""
        if size <= self.max_upload_bytes:
            return None
        return (f"{name}: the file is {size / 1e6:.1f} MB; this server accepts files up to "
                f"{self.max_upload_bytes / 1e6:g} MB")

    def accept(self, upload_id, path, name, role):
        """Check a received file with exemplar's reader; -> Upload, or raise UploadError (file deleted)."""
        from exemplar.core.errors import ExemplarError
        from exemplar.core.image_io import read_image, write_image

        if role not in ROLES:
            path.unlink(missing_ok=True)
            raise UploadError(f"unknown upload role {role!r}; expected one of: {', '.join(ROLES)}")
        try:
            with self._decode:
                if role == "video":
                    return self._remember(Upload(id=upload_id, role=role, name=name, path=path,
                                                 preview=path.with_name(path.name + "_preview.png"),
                                                 info=self._check_video(path)))
                image = read_image(path, max_pixels=self.max_pixels)
                info = {"width": image.rgb.shape[1], "height": image.rgb.shape[0], "bit_depth": image.bit_depth,
                        "alpha": image.alpha is not None, "grey": image.is_grey}
                if role == "reference" and image.is_grey:
                    raise UploadError(f"{name}: this reference is black-and-white, so it has no colour to give; "
                                      "choose a colour photo")
                if role == "palette":
                    from exemplar.methods.palette import palette_from_image

                    palette = palette_from_image(image.rgb if image.alpha is None else
                                                 _with_alpha(image.rgb, image.alpha), k=5)
                    info["colours"] = [{"hex": h, "weight": round(float(w), 3)}
                                       for h, w in zip(palette.hex(), palette.weights)]
                preview = path.with_name(path.name + "_preview.png")
                write_image(preview, shrink(image.rgb, PREVIEW_SIDE[role]), bit_depth=8,
                            alpha=None if image.alpha is None else shrink(image.alpha, PREVIEW_SIDE[role]))
        except ExemplarError as error:
            path.unlink(missing_ok=True)
            problem = getattr(error, "problem", str(error))  # ImageError names our temp path: use the user's name
            raise UploadError(f"{name}: {problem}") from error
        except UploadError:
            path.unlink(missing_ok=True)
            raise
        return self._remember(Upload(id=upload_id, role=role, name=name, path=path, preview=preview, info=info))

    def _check_video(self, path):
        """Open a film with ``exemplar video``'s reader (header and packets, no decoding past frame 1);
        write its first frame as the preview; -> info. Raises ImageError naming our path."""
        from exemplar.core.errors import ImageError
        from exemplar.core.image_io import write_image
        from exemplar.video.video_reader import VideoReader

        reader = VideoReader(path)
        if reader.width * reader.height > self.max_pixels:
            raise ImageError(path, f"its frames are {reader.width}x{reader.height}, over the limit of "
                                   f"{self.max_pixels / 1e6:g} megapixels")
        frames = reader.frames()
        first = next(frames)
        frames.close()
        write_image(path.with_name(path.name + "_preview.png"), shrink(first, PREVIEW_SIDE["video"]))
        return {"width": reader.width, "height": reader.height, "frames": reader.frame_count,
                "fps": round(float(reader.fps), 3), "audio": reader.has_audio}

    def _remember(self, upload):
        with self._lock:
            self._uploads[upload.id] = upload
            while len(self._uploads) > MAX_UPLOADS:
                _, old = self._uploads.popitem(last=False)
                old.path.unlink(missing_ok=True)
                old.preview.unlink(missing_ok=True)
        return upload

    def upload(self, upload_id, role=None):
        """The Upload with this id (and role, if given); UploadError if there is none."""
        upload = self._uploads.get(upload_id) if isinstance(upload_id, str) and _ID.fullmatch(upload_id) else None
        if upload is None or not upload.path.exists():
            raise UploadError("that photo is no longer on the server (it was removed or the server restarted); "
                              "add it again", status=404)
        if role is not None and upload.role != role:
            raise UploadError(f"{upload.name} was added as a {upload.role}, not as a {role}")
        return upload

    # ------------------------------------------------------------------ jobs and cleanup

    def job_folder(self, job_id):
        folder = self.root / "jobs" / job_id
        folder.mkdir(exist_ok=True)
        return folder

    def drop_job_folder(self, job_id):
        shutil.rmtree(self.root / "jobs" / job_id, ignore_errors=True)

    def close(self):
        shutil.rmtree(self.root, ignore_errors=True)


def shrink(image, long_side):
    """(H, W[, C]) float image resized so its long side is at most ``long_side`` (never enlarged)."""
    height, width = image.shape[:2]
    scale = long_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA).reshape(size[::-1] + image.shape[2:])


def _with_alpha(rgb, alpha):
    import numpy as np

    return np.concatenate([rgb, alpha[..., None]], axis=2)  # palette_from_image skips transparent pixels


def display_name(raw, fallback="photo"):
    """A user's file name made safe to show and to put in a download name (no folders, no controls)."""
    name = str(raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"<>')[:120].strip()
    return name or fallback
