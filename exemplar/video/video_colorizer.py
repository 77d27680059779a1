"""``VideoColorizer``: colorize a film (video file or folder of numbered frames), frame by frame, streamed.

Per frame (shapes for 640x360 at working size 256):
1. decode the frame and take its CIE L at full size (360, 640), then at working size (256, 455);
2. :class:`FlowPropagator` runs the colorizer only on keyframes (start, shot cuts, reference
   switches, every few frames) and colours the frames between them from both neighbouring
   keyframes along optical flow, so it holds those frames (at most ``keyframe_interval``) until
   the next keyframe is colorized;
3. as for photos: ab up to full size with the guided filter, composed with the frame's own L;
4. encode; every ``segment_frames`` frames the segment is closed (its last frame a keyframe, so
   nothing is held across) and the job's state saved, so a killed run resumes from the last
   finished segment (``resume=True``).
Only the frames since the last keyframe are kept, so memory does not grow with the film's length.

The colorizer is always called through :meth:`Colorizer.run` on the working-size grey frame,
so references, palettes and automatic colorization all work alike.
"""

import hashlib
import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from exemplar.color import l_to_grey_rgb, lab_to_rgb, lab_to_rgb_keep_l, rgb_to_l_fast, rgb_to_lab
from exemplar.colorizer import ExemplarWarning, colour_sources, resize_short_side
from exemplar.errors import ExemplarError, ImageError
from exemplar.guided_filter import guided_upsample
from exemplar.image_io import rgb_to_uint
from exemplar.video import MAX_KEYFRAME_INTERVAL
from exemplar.video.flow_propagation import FlowPropagator
from exemplar.video.frame_folder import DEFAULT_FPS, FrameFolder
from exemplar.video.frame_folder_writer import FrameFolderWriter
from exemplar.video.reference_schedule import ReferenceSchedule
from exemplar.video.video_reader import VideoReader
from exemplar.video.video_writer import CONTAINERS, VideoWriter

SEGMENT_FRAMES = 120  # frames per resumable segment: ~5 s of film, at most that much redone after a kill


@dataclass(frozen=True)
class VideoResult:
    """What :meth:`VideoColorizer.run` did (the CLI prints it, tests and benchmarks read it)."""

    output: Path
    frames: int  # frames written
    keyframes: int  # frames where the colorizer ran (start, cuts and switches included)
    cuts: int  # shot cuts detected
    resumed_at: int  # frames taken from a previous run (0: started afresh)
    audio: str | None  # "copied", "re-encoded", or None (no audio, or a frame folder)
    seconds: float  # wall time of this run


class VideoColorizer:
    """Colorize films with one :class:`exemplar.colorizer.Colorizer` (models load once).

    keyframe_interval, keep: see :class:`FlowPropagator`; keyframe_interval=1 runs the colorizer
      on every frame (keep=0 then gives per-frame colorization, the benchmark's baseline).
    """

    def __init__(self, colorizer, keyframe_interval=8, keep=0.25, segment_frames=SEGMENT_FRAMES):
        if not 1 <= keyframe_interval <= MAX_KEYFRAME_INTERVAL:
            raise ExemplarError(f"keyframe interval {keyframe_interval} is out of range: use 1 to {MAX_KEYFRAME_INTERVAL} "
                                "(the frames between keyframes are held in memory)")
        self.colorizer = colorizer
        self.keyframe_interval = keyframe_interval
        self.keep = keep
        self.segment_frames = segment_frames

    def run(self, source, output, references=(), palette=None, reference_at=(), strength=1.0, fps=None,
            overwrite=False, resume=False, on_progress=None):
        """Colorize ``source`` (video file or frame folder, or one opened with :func:`open_frames`)
        into ``output`` (video file or folder).

        references: paths or arrays colouring the film from its start; palette: instead of them;
        reference_at: (WHEN, IMAGE) pairs switching references at a time or frame (see
        :mod:`exemplar.video.reference_schedule`); fps: frame rate of a frame folder (default 25);
        resume: continue a killed run from its last finished segment;
        on_progress(done, total): called after every frame.
        Raises :class:`ImageError` / :class:`ExemplarError`; nothing is left at ``output`` then.
        """
        started = time.perf_counter()
        references, palette = colour_sources(references, palette, strength)
        output = check_video_output(output, overwrite)
        reader = source if hasattr(source, "frames") else open_frames(source, fps)  # path, or already opened
        if Path(reader.path).resolve() == output.resolve():
            raise ImageError(output, "is the input; choose another output")
        schedule = ReferenceSchedule(references, palette, reference_at, reader.fps)
        labs = {id(image): self.colorizer.reference_lab(image) for image in schedule.images()}  # checks them all
        reference_rgb = {key: lab_to_rgb(lab) for key, lab in labs.items()}  # working size, read once

        work = output.parent / f".{output.name}.partial"
        job = self._job(reader, schedule, strength)
        state = _load_state(work, job) if resume else None
        if state is None:
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            (work / "job.json").write_text(json.dumps(job, indent=1))
        done = int(state["done"]) if state is not None else 0
        writer_class = FrameFolderWriter if output.suffix == "" else VideoWriter
        writer = writer_class(output, work, reader.fps, reader.width, reader.height)
        writer.discard_from(done)
        propagator = FlowPropagator(self.keyframe_interval, self.keep)
        if state is not None:
            propagator.load_state(state)

        def predict(l_work, span):
            grey = l_to_grey_rgb(l_work)  # (h, w) sRGB grey: the colorizer's own target format
            refs = [reference_rgb[id(image)] for image in span.references]
            return rgb_to_lab(self.colorizer.run(grey, refs, palette=span.palette).rgb)[..., 1:]  # (h, w, 2)

        counts = {"key": 0, "cut": 0, "carried": 0}

        def emit(finished):
            """Write the frames the propagator has finished, in order: (ab_work, kind, (index, L, L_work))."""
            for ab_work, kind, (i, l_full, l_work) in finished:
                counts[kind] += 1
                if i % self.segment_frames == 0 or i == done:
                    writer.start_segment(i)
                ab_full = guided_upsample(l_work, ab_work, l_full, radius=4, eps=10.0)  # (H, W, 2)
                if strength != 1.0:
                    ab_full *= strength
                writer.write(rgb_to_uint(lab_to_rgb_keep_l(l_full, ab_full), 8))
                if on_progress is not None:
                    on_progress(i + 1, reader.frame_count)

        index = -1
        try:
            for index, rgb in enumerate(reader.frames()):
                if index < done:
                    continue  # decoded only to reach the resume point
                if index == 0:
                    _warn_if_colour(reader.path, rgb)
                span = schedule.at(index)
                if index == span.start:
                    emit(propagator.flush())  # the last frames with the previous references
                    propagator.reset()  # a new shot's references: start afresh
                l_full = rgb_to_l_fast(rgb)  # (H, W) L in [0, 100], kept exactly
                l_work = resize_short_side(l_full, self.colorizer.size)  # (h, w)
                segment_ends = (index + 1) % self.segment_frames == 0
                emit(propagator.push(l_work, lambda l_work=l_work, span=span: predict(l_work, span),
                                     (index, l_full, l_work), force_key=segment_ends))
                if segment_ends:  # the segment's last frame was a keyframe: nothing is held
                    writer.end_segment()
                    _save_state(work, index + 1, propagator.state())
            emit(propagator.flush())  # the film's last frame becomes a keyframe
            writer.end_segment()
            if index + 1 < done:
                raise ImageError(reader.path, f"has {index + 1} frames, fewer than the {done} already done")
            audio = writer.finish(overwrite, reader.path if reader.has_audio else None)
        except ExemplarError:
            writer.abort()  # bad input or output: nothing partial stays behind
            shutil.rmtree(work, ignore_errors=True)
            raise
        except BaseException:
            writer.abort()  # killed or crashed: the finished segments stay for resume=True
            raise
        shutil.rmtree(work, ignore_errors=True)
        return VideoResult(output, index + 1, counts["key"] + counts["cut"], counts["cut"], done, audio,
                           time.perf_counter() - started)

    def _job(self, reader, schedule, strength):
        """What a resumed run must share with the killed one (else it starts afresh)."""
        def name(image):
            if isinstance(image, np.ndarray):
                return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()
            return str(Path(image).resolve())

        source = Path(reader.path)
        return {
            "input": str(source.resolve()), "input_mtime": source.stat().st_mtime, "frames": reader.frame_count,
            "method": self.colorizer.method_name, "size": self.colorizer.size, "strength": strength,
            "spans": [[s.start, [name(i) for i in s.references], str(s.palette)] for s in schedule.spans],
            "keyframe_interval": self.keyframe_interval, "keep": self.keep, "segment_frames": self.segment_frames,
            "carried": "colour-model",  # the saved state's form: runs killed before it start afresh
        }


def open_frames(source, fps=None):
    """A :class:`VideoReader` for a file, a :class:`FrameFolder` for a folder (``fps`` only for folders)."""
    path = Path(source)
    if path.is_dir():
        return FrameFolder(path, fps or DEFAULT_FPS)
    if fps is not None:
        raise ExemplarError(f"{path}: --fps is only for folders of frames; a video keeps its own frame rate")
    return VideoReader(path)


def check_video_output(output, overwrite):
    """Refuse an output that exists (without ``overwrite``), an unknown extension or a missing folder."""
    output = Path(output)
    if output.suffix and output.suffix.lower() not in CONTAINERS:
        raise ImageError(output, f"unknown video format '{output.suffix}' (use {', '.join(CONTAINERS)}, "
                                 "or no extension for a folder of PNG frames)")
    if not output.parent.is_dir():
        raise ImageError(output, f"output folder {output.parent} does not exist")
    if output.exists() and not overwrite:
        raise ImageError(output, "already exists (use --overwrite to replace it)")
    if not os.access(output.parent, os.W_OK):
        raise ImageError(output, f"output folder {output.parent} is not writable")
    return output


def _load_state(work, job):
    """The saved state of a killed run of the same job, or None (then the run starts afresh)."""
    try:
        if json.loads((work / "job.json").read_text()) != json.loads(json.dumps(job)):
            warnings.warn(f"{work}: the unfinished run had other inputs or options; starting afresh",
                          ExemplarWarning, stacklevel=3)
            return None
        with np.load(work / "state.npz") as saved:
            return dict(saved)
    except (OSError, ValueError):
        return None


def _save_state(work, done, state):
    """Atomically record that ``done`` frames are finished, with the propagator's state after them."""
    tmp = work / "state.tmp.npz"
    np.savez(tmp, done=np.array(done), **state)
    os.replace(tmp, work / "state.npz")


def _warn_if_colour(path, rgb):
    small = rgb[:: max(1, rgb.shape[0] // 64), :: max(1, rgb.shape[1] // 64)]
    if float(np.hypot(*np.moveaxis(rgb_to_lab(small)[..., 1:], -1, 0)).mean()) > 2.0:
        warnings.warn(f"{path}: the film is in colour; only its luminance is used", ExemplarWarning, stacklevel=3)
