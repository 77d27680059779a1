"""A reference per shot: find a film's shots and pick for each the references that look most like it.

``exemplar video film.mp4 --reference-dir period_photos/`` (or :func:`plan_shots` from Python)
reads the film once before colorizing it, every frame scaled to 224x224 while it is decoded
(a few milliseconds a frame):

- each frame's L goes to a :class:`~exemplar.video.shots.ShotDetector` (64x36 thumbnails), which
  finds the shot starts, hard cuts and cross-fades;
- some frames are embedded as reference search embeds photos
  (:meth:`exemplar.pipeline.reference_index.ReferenceIndex.embed_l`: the luminance through EfficientNet-Lite0):
  one every second of film (sparser on films over ten minutes, so that at most about
  ``MAX_SAMPLES`` are), and one of each shot when it is found (a hard cut's first frame; for a
  cross-fade, found a few frames late, one halfway from its middle to that frame), so every
  shot has one;
- a shot's similarity to a reference is the mean cosine over the shot's embedded frames; the
  ``top_k`` most similar references colour it.

Memory stays flat: the embeddings (4 KB each), the last ``RECENT`` frames at 224x224 (50 KB
each) and one batch of frames waiting to be embedded are kept, whatever the film's length.

The references to choose from (:class:`ReferencePool`) are a folder, indexed and cached in it as
``exemplar colorize --reference-dir`` does, or a list of image files or arrays (the web page's
film tab, several references uploaded).
"""

import math
import os
import time
from collections import deque
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from exemplar.core.errors import ExemplarError, ImageError
from exemplar.pipeline.reference_index import BATCH, EMBED_SIZE, ReferenceIndex
from exemplar.video.shots import ShotDetector

MAX_SAMPLES = 600  # frames embedded at most (besides one per shot): ~1 min of CPU for any film
RECENT = 32  # frames kept to embed one of a shot found late (a cross-fade's, found up to ~FADE_SPAN frames on)


@dataclass(frozen=True)
class Choice:
    """A reference chosen for a shot: ``reference`` a path (or an array), ``name`` for printing."""

    reference: object
    similarity: float  # mean cosine between the shot's frames and the reference, in [-1, 1]
    name: str


@dataclass(frozen=True)
class Shot:
    """Frames ``start`` to ``end - 1`` of the film, and the references chosen for them, best first."""

    start: int
    end: int
    choices: tuple
    samples: int  # frames of the shot that were embedded


@dataclass(frozen=True)
class ShotPlan:
    """What :func:`plan_shots` found: the film's shots and each one's references."""

    shots: tuple
    frames: int
    fps: Fraction
    source: str  # what was searched: a folder, or "N references"
    candidates: int  # references it held
    seconds: float  # time the shot pass took

    @property
    def starts(self):
        """The shot starts after the first: where the film cuts (frame numbers)."""
        return [shot.start for shot in self.shots[1:]]

    def reference_at(self, references=(), reference_at=()):
        """The plan as ``reference_at`` pairs for :class:`~exemplar.video.reference_schedule.ReferenceSchedule`.

        Each shot is coloured from its start by its chosen references plus ``references`` (``-r``,
        for every shot). A user's ``(WHEN, IMAGE)`` pair (``--reference-at``) overrides the choice
        from WHEN to the end of the shot it falls in; the next shot has its own choice again.
        Returns [(frame number as text, image)], every frame's images together.
        """
        from exemplar.video.reference_schedule import parse_when

        spans = {shot.start: [c.reference for c in shot.choices] + list(references) for shot in self.shots}
        overrides = {}
        for when, image in reference_at:
            overrides.setdefault(parse_when(when, self.fps), []).append(image)
        spans.update(overrides)
        return [(str(frame), image) for frame in sorted(spans) for image in spans[frame]]

    def lines(self):
        """One line per shot and reference chosen: frame range, times, similarity, file."""
        out = []
        for number, shot in enumerate(self.shots, start=1):
            where = (f"shot {number}: frames {shot.start}-{shot.end - 1} "
                     f"({_clock(shot.start, self.fps)}-{_clock(shot.end, self.fps)})")
            for rank, choice in enumerate(shot.choices):
                lead = where if rank == 0 else " " * len(where)
                out.append(f"  {lead}  {choice.similarity:.3f}  {choice.name}")
        return out


class ReferencePool:
    """Colour references to choose from, with their embeddings.

    source: a folder (searched recursively, its embeddings cached in ``DIR/.exemplar_index.npz``
      as for ``colorize --reference-dir``), or a list of image paths or (H, W, 3) sRGB arrays;
      a grey image in a list is refused (a folder skips it with a warning).
    encoder: an EfficientNet-Lite0 to share (the colorizer's, ``colorizer.method.encoder``).
    """

    def __init__(self, source, encoder=None, max_pixels=None, on_progress=None):
        if isinstance(source, (str, os.PathLike)):
            index = ReferenceIndex(source, encoder=encoder, max_pixels=max_pixels, on_progress=on_progress)
            if not index.usable.any():
                raise ExemplarError(f"{index.directory}: no usable colour reference images found")
            self.references = index.paths
            self.names = [str(path) for path in self.references]
            self.embeddings = index.embeddings[index.usable]  # (N, D)
            self.embedder = index
            self.description = str(index.directory)
            return
        from exemplar.core.color import rgb_to_l_fast
        from exemplar.core.image_io import DEFAULT_MAX_PIXELS, read_image

        self.references = list(source)
        if not self.references:
            raise ExemplarError("no references to choose from")
        self.embedder = _Embedder(encoder)
        ls, self.names = [], []
        for number, reference in enumerate(self.references, start=1):
            image = read_image(reference, max_pixels=max_pixels or DEFAULT_MAX_PIXELS)
            if image.is_grey:
                raise ImageError(image.path, "the reference has no colour (it is black-and-white); give a colour photo")
            ls.append(_square_l(rgb_to_l_fast(image.rgb)))
            self.names.append(f"reference {number}" if isinstance(reference, np.ndarray) else str(reference))
        self.embeddings = self.embedder.embed_l(ls)  # (N, D)
        self.description = f"{len(self.references)} references"

    def best(self, queries, top_k=1):
        """(S, D) embeddings of one shot's frames -> its ``top_k`` :class:`Choice` s, best first."""
        similarity = (self.embeddings @ np.asarray(queries, np.float32).T).mean(axis=1)  # (N,)
        order = np.argsort(-similarity, kind="stable")[:top_k]
        return tuple(Choice(self.references[i], float(similarity[i]), self.names[i]) for i in order)


class _Embedder:
    """:class:`ReferenceIndex`'s embedding (the same encoder, the same features) without a folder."""

    embed_l = ReferenceIndex.embed_l
    encoder = ReferenceIndex.encoder  # loads EfficientNet-Lite0 on first need unless one was given

    def __init__(self, encoder=None):
        self._encoder = encoder


def _square_l(l):
    """(H, W) L -> (224, 224) L squashed, area-averaged: what the embedding looks at."""
    import cv2

    return cv2.resize(l, (EMBED_SIZE, EMBED_SIZE), interpolation=cv2.INTER_AREA)


def scan_film(reader, embed_l=None, on_progress=None):
    """One pass over a film (a :class:`VideoReader` or :class:`FrameFolder`).

    embed_l: a function list of (224, 224) L -> (N, D) embeddings (None: no embedding).
    Returns (shot starts, 0 first; [(frame number, (D,) embedding)] in frame order; frames read).
    on_progress(done, total) after each frame.
    """
    from exemplar.core.color import rgb_to_l_fast

    detector = ShotDetector()
    stride = max(1, round(float(reader.fps)), math.ceil(reader.frame_count / MAX_SAMPLES))
    samples, pending = [], []  # (frame, embedding); (frame, (224, 224) L) not yet embedded
    recent = deque(maxlen=RECENT)  # (frame, (224, 224) uint8 L): a cross-fade's shot is found late

    def embed():
        if pending:
            samples.extend(zip([frame for frame, _ in pending], embed_l([l for _, l in pending])))
            pending.clear()

    def keep(frames):
        if embed_l is not None:
            pending.extend((frame, l8.astype(np.float32) / 2.55) for frame, l8 in recent if frame in frames)
            if len(pending) >= BATCH:
                embed()

    found = 0
    for index, rgb in enumerate(reader.frames((EMBED_SIZE, EMBED_SIZE))):
        l = rgb_to_l_fast(rgb)  # (224, 224) L of the squashed frame
        detector.push(l)
        recent.append((index, np.round(l * 2.55).astype(np.uint8)))
        take = [index] if index % stride == 0 else []
        for start in detector.starts[found:]:  # new shots: a frame of each (a cut's first, a fade's end)
            take.append(max(start + (index - start) // 2, recent[0][0]))
        found = len(detector.starts)
        keep(take)
        if on_progress is not None:
            on_progress(index + 1, reader.frame_count)
    starts = detector.finish()  # a cross-fade still going at the end is one more shot
    keep([max(start + (detector.count - 1 - start) // 2, recent[0][0]) for start in starts[found:]])
    if embed_l is not None:
        embed()
    return [0] + starts, samples, detector.count


def plan_shots(source, references, top_k=1, encoder=None, max_pixels=None, fps=None, on_progress=None,
               on_index_progress=None):
    """Find the shots of the film ``source`` and choose each one's ``top_k`` references.

    source: a video file or frame folder path (``fps`` for a folder, default 25), or a reader from
      :func:`exemplar.video.video_colorizer.open_frames`.
    references: a folder, a list of image paths or arrays, or a :class:`ReferencePool`.
    encoder: the colorizer's EfficientNet-Lite0 to share (``colorizer.method.encoder``).
    on_progress(done, total): frames of the shot pass; on_index_progress: images of a folder indexed.
    Returns a :class:`ShotPlan`; give ``plan.reference_at()`` and ``shots=plan.starts`` to
    :meth:`VideoColorizer.run`, or pass ``reference_dir=`` to :func:`exemplar.colorize_video`,
    which does both.
    """
    from exemplar.video.video_colorizer import open_frames

    if top_k < 1:
        raise ExemplarError(f"top-k must be at least 1, got {top_k}")
    started = time.perf_counter()
    reader = source if hasattr(source, "frames") else open_frames(source, fps)
    pool = references if isinstance(references, ReferencePool) else ReferencePool(
        references, encoder=encoder, max_pixels=max_pixels, on_progress=on_index_progress)
    starts, samples, count = scan_film(reader, pool.embedder.embed_l, on_progress)
    frames = np.array([frame for frame, _ in samples])
    embeddings = np.stack([embedding for _, embedding in samples])  # (S, D)
    ends = starts[1:] + [count]
    shots = []
    for start, end in zip(starts, ends):
        mine = (frames >= start) & (frames < end)
        if not mine.any():  # a shot too short to be sampled (a fade straight into a cut): its nearest frame
            mine = np.abs(frames - start) == np.abs(frames - start).min()
        shots.append(Shot(start, end, pool.best(embeddings[mine], top_k), int(mine.sum())))
    return ShotPlan(tuple(shots), count, Fraction(reader.fps), pool.description,
                    len(pool.references), time.perf_counter() - started)


def _clock(frame, fps):
    """Frame number -> "M:SS.ss" at ``fps``."""
    seconds = frame / float(fps)
    return f"{int(seconds // 60)}:{seconds % 60:05.2f}"

