"""``FrameFolderWriter``: write a colorized film as numbered PNG frames, the folder appearing whole.

Same interface as :class:`exemplar.video.video_writer.VideoWriter`: frames go into the hidden
work folder (``.NAME.partial/frames``) and :meth:`finish` renames it to OUTPUT in one step, so
OUTPUT never exists half-written. PNG is lossless: every frame keeps its L exactly (to 8 bits).
"""

import os
import shutil
from pathlib import Path

import cv2

from exemplar.core.errors import ImageError


class FrameFolderWriter:
    """Frames ``000000.png``, ``000001.png``, ... in ``work_dir/frames``; :meth:`finish` makes ``output``."""

    def __init__(self, output, work_dir, fps=None, width=None, height=None):
        self.output = Path(output)
        self.frames_dir = Path(work_dir) / "frames"
        self.frames_dir.mkdir(parents=True, exist_ok=True)
        self._next = 0

    def discard_from(self, first_frame):
        """Remove frames numbered ``first_frame`` and later (resuming from there)."""
        for path in self.frames_dir.glob("*.png"):
            if int(path.stem) >= first_frame:
                path.unlink()

    def start_segment(self, first_frame):
        self._next = first_frame

    def write(self, rgb):
        """Write one (H, W, 3) uint8 sRGB frame."""
        path = self.frames_dir / f"{self._next:06d}.png"
        if not cv2.imwrite(str(path), rgb[..., ::-1]):  # OpenCV wants BGR
            raise ImageError(path, "cannot be written")
        self._next += 1

    def end_segment(self):
        pass  # each PNG is complete once written; the job's saved state says which frames count

    def abort(self):
        pass

    def finish(self, overwrite, audio_from=None):
        """Rename the finished frames folder to ``output`` (replacing it only with ``overwrite``)."""
        if self.output.exists():
            if not overwrite:
                raise ImageError(self.output, "already exists (use --overwrite to replace it)")
            old = self.output.with_name(f".{self.output.name}.old")
            os.replace(self.output, old)  # a rename each way: OUTPUT is never half-written
            os.replace(self.frames_dir, self.output)
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        else:
            os.replace(self.frames_dir, self.output)
        return None
