"""Reference search: pick the colour references in a folder that look most like the target.

Every image is embedded once by the frozen EfficientNet-Lite0 applied to its LUMINANCE (so a
black-and-white target and colour references are embedded the same way, and colour cannot sway
the choice), and targets are matched by cosine similarity. The embedding is the global average
of the stride-16 and stride-32 features plus the stride-32 average over the top and bottom
halves (a coarse layout: sky above, ground below), each part unit-normalised.

Embeddings are cached in ``DIR/.exemplar_index.npz`` keyed by relative path, size and mtime:
on each use new, changed and removed files are found by a directory scan and only the new or
changed ones are embedded. The file is replaced atomically; a read-only folder keeps the index
in memory for this run (with a warning).
"""

import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from exemplar.core.errors import ExemplarError, ImageError

INDEX_NAME = ".exemplar_index.npz"
EMBED_SIZE = 224  # images are squashed to 224 x 224: the encoder's ImageNet size, and batchable
EMBED_KIND = "lite0-luminance-gap16-gap32-halves32-224-v1"  # changes when the embedding changes
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"}
BATCH = 16


@dataclass(frozen=True)
class Match:
    """A reference chosen for a target."""

    path: Path
    similarity: float  # cosine of the embeddings, in [-1, 1]; 1 = same picture


class ReferenceIndex:
    """The embeddings of the colour images under ``directory`` (searched recursively).

    encoder: an :class:`exemplar.model.encoder.EfficientNetLite0` to share (e.g. the match method's);
      loaded on first need otherwise (a fully cached folder needs it only for the target).
    Construction scans the folder and brings the index up to date; ``changes`` tells what moved.
    on_progress(done, total) is called after each batch of newly embedded images.
    persist: False embeds every image in memory and neither reads nor writes the folder's index file
      (for folders that are not ours to write, e.g. shared benchmark data).
    """

    def __init__(self, directory, encoder=None, max_pixels=None, on_progress=None, persist=True):
        from exemplar.core.image_io import DEFAULT_MAX_PIXELS

        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise ExemplarError(f"{self.directory}: reference folder not found (or not a folder)")
        self.index_path = self.directory / INDEX_NAME
        self.max_pixels = max_pixels or DEFAULT_MAX_PIXELS
        self._encoder = encoder
        self.persist = persist
        self.changes = self.refresh(on_progress)

    # ------------------------------------------------------------------ embedding

    @property
    def encoder(self):
        if self._encoder is None:
            from exemplar.model.encoder import EfficientNetLite0

            self._encoder = EfficientNetLite0(weights="imagenet")
        return self._encoder

    def embed_l(self, ls):
        """List of (h, w) L in [0, 100] -> (N, D) float32 unit-norm embeddings."""
        from exemplar.methods.match_colorizer import encoder_input

        out = []
        for start in range(0, len(ls), BATCH):
            square = [cv2.resize(l, (EMBED_SIZE, EMBED_SIZE), interpolation=cv2.INTER_AREA)
                      for l in ls[start : start + BATCH]]  # (224, 224) L each
            features = self.encoder.predict_on_batch(np.concatenate([encoder_input(l) for l in square]))
            s16 = np.asarray(features["stride16"])  # (B, 14, 14, 112)
            s32 = np.asarray(features["stride32"])  # (B, 7, 7, 320)
            half = s32.shape[1] // 2
            parts = [s16.mean(axis=(1, 2)), s32.mean(axis=(1, 2)),
                     s32[:, :half].mean(axis=(1, 2)), s32[:, half:].mean(axis=(1, 2))]  # (B, C) each
            parts = [p / (np.linalg.norm(p, axis=1, keepdims=True) + 1e-8) for p in parts]
            out.append(np.concatenate(parts, axis=1) / np.sqrt(len(parts)))  # (B, D), unit norm
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 0), np.float32)

    def embed(self, source):
        """Path or array -> (D,) embedding of its luminance."""
        from exemplar.core.color import rgb_to_l_fast
        from exemplar.core.image_io import read_image

        return self.embed_l([rgb_to_l_fast(read_image(source, max_pixels=self.max_pixels).rgb)])[0]

    # ------------------------------------------------------------------ the index

    def _scan(self):
        """-> {relative posix path: (size, mtime_ns)} of the image files under the folder."""
        found = {}
        for root, dirs, files in os.walk(self.directory):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith(".") or Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                path = Path(root) / name
                try:
                    stat = path.stat()
                except OSError:
                    continue
                found[path.relative_to(self.directory).as_posix()] = (stat.st_size, stat.st_mtime_ns)
        return found

    def _load(self):
        """-> {name: (size, mtime_ns, usable, embedding)} from the index file ({} if absent or unusable)."""
        if not self.persist or not self.index_path.exists():
            return {}
        try:
            with np.load(self.index_path, allow_pickle=False) as data:
                if str(data["kind"]) != EMBED_KIND:
                    return {}
                rows = zip(data["names"], data["sizes"], data["mtimes"], data["usable"], data["embeddings"])
                return {str(n): (int(s), int(m), bool(u), e) for n, s, m, u, e in rows}
        except (OSError, ValueError, KeyError) as error:
            from exemplar.core.errors import ExemplarWarning

            warnings.warn(f"{self.index_path}: unreadable index ({error}); rebuilding it", ExemplarWarning,
                          stacklevel=3)
            return {}

    def refresh(self, on_progress=None):
        """Bring the index up to date with the folder; -> {"added", "updated", "removed", "kept"} counts."""
        from exemplar.core.color import rgb_to_l_fast
        from exemplar.core.errors import ExemplarWarning
        from exemplar.core.image_io import read_image

        cached = self._load()
        found = self._scan()
        stale = [n for n in found if n in cached and cached[n][:2] != found[n]]
        todo = [n for n in found if n not in cached or cached[n][:2] != found[n]]
        entries = {n: cached[n] for n in found if n not in todo}
        pending = []  # (name, (224, 224) L) read but not yet embedded: at most BATCH, so memory stays small

        def flush():
            for (name, _), embedding in zip(pending, self.embed_l([l for _, l in pending])):
                entries[name] = (*found[name], True, embedding)
            pending.clear()

        for done, name in enumerate(todo, start=1):
            size, mtime = found[name]
            try:
                image = read_image(self.directory / name, max_pixels=self.max_pixels)
            except ImageError as error:
                warnings.warn(f"skipping reference {error}", ExemplarWarning, stacklevel=2)
                entries[name] = (size, mtime, False, None)
                continue
            if image.is_grey:
                warnings.warn(f"skipping reference {self.directory / name}: it has no colour", ExemplarWarning,
                              stacklevel=2)
                entries[name] = (size, mtime, False, None)
                continue
            l = rgb_to_l_fast(image.rgb)  # (H, W) L in [0, 100]
            pending.append((name, cv2.resize(l, (EMBED_SIZE, EMBED_SIZE), interpolation=cv2.INTER_AREA)))
            if len(pending) == BATCH and done < len(todo):
                flush()
                if on_progress is not None:
                    on_progress(done, len(todo))
        flush()
        if todo and on_progress is not None:
            on_progress(len(todo), len(todo))

        self.names = sorted(entries)
        self._real = None  # real paths of the entries, computed on the first search
        width = next((len(e[3]) for e in entries.values() if e[3] is not None), 0)
        self.usable = np.array([entries[n][2] for n in self.names], bool)
        self.embeddings = np.zeros((len(self.names), width), np.float32)  # (N, D), zero rows where unusable
        for row, name in enumerate(self.names):
            if entries[name][2]:
                self.embeddings[row] = entries[name][3]
        self._sizes = np.array([entries[n][0] for n in self.names], np.int64)
        self._mtimes = np.array([entries[n][1] for n in self.names], np.int64)
        changes = {"added": len(todo) - len(stale), "updated": len(stale),
                   "removed": len(set(cached) - set(found)), "kept": len(found) - len(todo)}
        if self.persist and (changes["added"] or changes["updated"] or changes["removed"]
                             or not self.index_path.exists()):
            self._save()
        return changes

    def _save(self):
        """Write the index next to the images, atomically; warn and go on if the folder is read-only."""
        from exemplar.core.errors import ExemplarWarning

        tmp_name = None
        try:
            with tempfile.NamedTemporaryFile(dir=self.directory, prefix=".exemplar_index.", suffix=".tmp",
                                             delete=False) as tmp:
                tmp_name = tmp.name
                np.savez(tmp, kind=np.array(EMBED_KIND), names=np.array(self.names, dtype=str), sizes=self._sizes,
                         mtimes=self._mtimes, usable=self.usable, embeddings=self.embeddings)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, self.index_path)
            tmp_name = None
        except OSError as error:
            warnings.warn(f"{self.directory}: cannot write the reference index ({error.strerror or error}); "
                          "keeping it in memory for this run", ExemplarWarning, stacklevel=3)
        finally:
            if tmp_name is not None:
                try:
                    os.unlink(tmp_name)
                except OSError:
                    pass

    # ------------------------------------------------------------------ search

    @property
    def paths(self):
        """Paths of the usable (colour, readable) references, in index order."""
        return [self.directory / n for n, ok in zip(self.names, self.usable) if ok]

    def search(self, target, top_k=1):
        """The ``top_k`` references most similar to ``target`` (path or array), best first.

        A target that is itself in the folder is never its own reference.
        """
        if top_k < 1:
            raise ExemplarError(f"top-k must be at least 1, got {top_k}")
        if not self.usable.any():
            raise ExemplarError(f"{self.directory}: no usable colour reference images found")
        query = self.embed(target)  # (D,)
        similarity = self.embeddings @ query  # (N,)
        similarity[~self.usable] = -np.inf
        if not isinstance(target, np.ndarray):  # the target itself (or a link to it) is no reference
            own = {os.path.abspath(target), os.path.realpath(target)}
            if self._real is None:
                self._real = [os.path.realpath(self.directory / n) for n in self.names]
            for i, name in enumerate(self.names):
                if os.path.abspath(self.directory / name) in own or self._real[i] in own:
                    similarity[i] = -np.inf
        best = [i for i in np.argsort(-similarity, kind="stable")[:top_k] if np.isfinite(similarity[i])]
        if not best:
            raise ExemplarError(f"{self.directory}: no colour reference images other than the target itself")
        return [Match(self.directory / self.names[i], float(similarity[i])) for i in best]
