"""``VideoColorizer``: colorize a film (video file or folder of numbered frames), frame by frame, streamed.

Per frame (shapes for 640x360 at working size 256):
1. decode the frame and take its CIE L at full size (360, 640), then at working size (256, 455);
2. :class:`FlowPropagator` runs the colorizer only on keyframes (start, shot cuts, reference
   switches, every few frames) and colours the frames between them from both neighbouring
   keyframes along optical flow, so it holds those frames (at most ``keyframe_interval``) until
   the next keyframe is colorized. Shot cuts are those of a
   :class:`~exemplar.video.shots.ShotDetector` fed as the frames arrive (hard cuts; a cross-fade
   is only found after it), or the shots found before the job (``shots=``, from
   :func:`~exemplar.video.shot_references.plan_shots`, cross-fades included): at each the colour
   starts afresh, nothing is carried across;
3. as for photos (:meth:`Colorizer.upsample`, :meth:`Colorizer.compose`): ab up to full size with
   the guided filter, composed with the frame's own L;
4. encode; every ``segment_frames`` frames the segment is closed (its last frame a keyframe, so
   nothing is held across) and the job's state saved, so a killed run resumes from the last
   finished segment (``resume=True``).
Only the frames since the last keyframe are kept, so memory does not grow with the film's length.

A keyframe's colour is the colorizer's own steps at the working size: :meth:`Colorizer.predict`
(references read once per job as working-size Lab, a palette, or automatic; hints where their points
have moved to), then :meth:`Colorizer.upsample` onto the same working-size L, the edge-aware filter
every photo gets, with chroma fitted into the sRGB gamut as :meth:`Colorizer.compose` fits it: what
is carried starts from the colour a photo of the frame would have, in ab, with no RGB round trip.
"""

import hashlib
import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from exemplar.core.color import fit_ab_in_gamut, rgb_to_l_fast, rgb_to_lab
from exemplar.pipeline.colorizer import colour_sources
from exemplar.core.errors import ExemplarError, ExemplarWarning, ImageError
from exemplar.methods.hints import check_hints, colours_ab
from exemplar.core.image_io import rgb_to_uint
from exemplar.video import MAX_KEYFRAME_INTERVAL
from exemplar.video.flow_propagation import FlowPropagator
from exemplar.video.frame_folder import DEFAULT_FPS, FrameFolder
from exemplar.video.frame_folder_writer import FrameFolderWriter
from exemplar.video.reference_schedule import ReferenceSchedule, parse_when
from exemplar.video.shots import ShotDetector
from exemplar.video.video_reader import VideoReader
from exemplar.video.video_writer import CONTAINERS, VideoWriter

SEGMENT_FRAMES = 120  # frames per resumable segment: ~5 s of film, at most that much redone after a kill


@dataclass(frozen=True)
class VideoResult:
    """What :meth:`VideoColorizer.run` did (the CLI prints it, tests and benchmarks read it)."""

    output: Path
    frames: int  # frames written
    keyframes: int  # frames where the colorizer ran (start, cuts and switches included)
    cuts: int  # shot cuts (given, or detected)
    resumed_at: int  # frames taken from a previous run (0: started afresh)
    audio: str | None  # "copied", "re-encoded", or None (no audio, or a frame folder)
    seconds: float  # wall time of this run
    cut_frames: tuple = ()  # where the shots start (frame numbers, 0 excluded)


class VideoColorizer:
    """Colorize films with one :class:`exemplar.pipeline.colorizer.Colorizer` (models load once).

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
            overwrite=False, resume=False, on_progress=None, shots=None, hints=(), hint_at=0, vividness=None):
        """Colorize ``source`` (video file or frame folder, or one opened with :func:`open_frames`)
        into ``output`` (video file or folder).

        references: paths or arrays colouring the film from its start; palette: instead of them;
        reference_at: (WHEN, IMAGE) pairs switching references at a time or frame (see
        :mod:`exemplar.video.reference_schedule`); fps: frame rate of a frame folder (default 25);
        resume: continue a killed run from its last finished segment;
        on_progress(done, total): called after every frame.
        shots: the shot starts when they are known beforehand (frame numbers, from
          :func:`exemplar.video.shot_references.plan_shots`): the film is cut there and nowhere else.
          None: a :class:`ShotDetector` finds the hard cuts as the frames come.
        hints: colour hints as for :meth:`Colorizer.run` (x, y in pixels of the film's frames, or
          "42%"; ``net`` with a hint-trained model) for frame ``hint_at`` (a time or a frame number,
          as WHEN of reference_at); their points are then followed from frame to frame
          (:func:`exemplar.video.flow_propagation.track`) and every later keyframe of the shot gets
          them where they moved, until a point is lost; each frame's spot is painted as for photos.
        vividness: this job's, as for :meth:`Colorizer.run` (None: the colorizer's).
        Raises :class:`ImageError` / :class:`ExemplarError`; nothing is left at ``output`` then.
        """
        started = time.perf_counter()
        colorizer = self.colorizer
        references, palette = colour_sources(references, palette, strength)
        output = check_video_output(output, overwrite)
        reader = source if hasattr(source, "frames") else open_frames(source, fps)  # path, or already opened
        if Path(reader.path).resolve() == output.resolve():
            raise ImageError(output, "is the input; choose another output")
        schedule = ReferenceSchedule(references, palette, reference_at, reader.fps)
        for span in schedule.spans:  # e.g. match with no reference for a stretch: refused before any work
            colorizer.check_job(span.references, span.palette)
        hints, hint_frame, hint_positions = self._hints(hints, hint_at, reader)
        labs = {id(image): colorizer.reference_lab(image) for image in schedule.images()}  # read once, checked
        given_cuts = None if shots is None else sorted({int(f) for f in shots} - {0})

        work = output.parent / f".{output.name}.partial"
        job = self._job(reader, schedule, strength, given_cuts, hints, hint_frame, vividness)
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
        detector = ShotDetector() if given_cuts is None else None  # fed every frame, skipped ones too
        cut_set = set(given_cuts or ())

        hint_abs = colours_ab(hints)

        def spots(points, shape):
            """Tracked points (x, y pixels at the working size, None where lost) -> resolved hints [(x, y, (a, b))]."""
            height, width = shape
            return [((p[0] + 0.5) / width, (p[1] + 0.5) / height, ab)
                    for p, ab in zip(points or (), hint_abs) if p is not None]

        def predict(l_work, span, points=None):
            """A keyframe's ab (h, w, 2): the colorizer's steps at the working size, hints where they moved to."""
            here = spots(points, l_work.shape)
            refs = [labs[id(image)] for image in span.references]
            ab_work = colorizer.predict(l_work, refs, span.palette, hints=here, vividness=vividness)
            return fit_ab_in_gamut(l_work, colorizer.upsample(l_work, ab_work, l_work, here))

        counts = {"key": 0, "cut": 0, "carried": 0}

        def emit(finished):
            """Write the frames the propagator has finished, in order: (ab_work, kind, (index, L, L_work), points)."""
            for ab_work, kind, (i, l_full, l_work), points in finished:
                counts[kind] += 1
                if i % self.segment_frames == 0 or i == done:
                    writer.start_segment(i)
                ab_full = colorizer.upsample(l_work, ab_work, l_full, spots(points, l_work.shape))  # (H, W, 2)
                writer.write(rgb_to_uint(colorizer.compose(l_full, ab_full, strength), 8))
                if on_progress is not None:
                    on_progress(i + 1, reader.frame_count)

        index = -1
        try:
            for index, rgb in enumerate(reader.frames()):
                cut = detector.push(shot_l(rgb)) if detector is not None else index in cut_set
                if index < done:
                    continue  # decoded only to reach the resume point
                if index == 0:
                    _warn_if_colour(reader.path, rgb)
                span = schedule.at(index)
                if index == span.start or cut:
                    emit(propagator.flush())  # the last frames of the shot, or with the previous references
                    propagator.reset()  # a new shot, or new references: start afresh
                l_full = rgb_to_l_fast(rgb)  # (H, W) L in [0, 100], kept exactly
                l_work = colorizer.working_l(l_full)  # (h, w)
                points = None
                if index == hint_frame:  # the hints' points at the working size, tracked from here on
                    points = [(x * l_work.shape[1] - 0.5, y * l_work.shape[0] - 0.5) for x, y in hint_positions]
                segment_ends = (index + 1) % self.segment_frames == 0
                emit(propagator.push(l_work, lambda *p, l_work=l_work, span=span: predict(l_work, span, *p),
                                     (index, l_full, l_work), force_key=segment_ends, points=points))
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
        cut_frames = tuple(detector.finish() if detector is not None else (f for f in given_cuts if f <= index))
        return VideoResult(output, index + 1, counts["key"] + counts["cut"], len(cut_frames), done, audio,
                           time.perf_counter() - started, cut_frames)

    def _hints(self, hints, hint_at, reader):
        """Check the hints against the film -> ([Hint], frame they are for, [(x, y)] fractions of the frame)."""
        hints = check_hints(hints)
        if not hints:
            return [], None, []
        if self.colorizer.method_name != "net":
            raise ExemplarError("colour hints need --method net")
        if not getattr(getattr(self.colorizer.method, "net", None), "hints", False):
            raise ExemplarError("this model was trained without the colour hint input: hints need a newer model")
        frame = parse_when(hint_at, reader.fps)
        if frame >= reader.frame_count:
            raise ExemplarError(f"hints at {hint_at}: frame {frame} is past the film's end "
                                f"({reader.frame_count} frames)")
        return hints, frame, [hint.position(reader.width, reader.height) for hint in hints]

    def _job(self, reader, schedule, strength, cuts=None, hints=(), hint_frame=None, vividness=None):
        """What a resumed run must share with the killed one (else it starts afresh): every setting that
        changes the frames (the colorizer's model and options, this job's vividness, references,
        palettes, hints, strength, shots, the propagation's settings)."""
        def name(image):
            if isinstance(image, np.ndarray):
                return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()
            path = Path(image).resolve()
            return f"{path} {path.stat().st_mtime}"  # a reference replaced at the same path is another one

        source = Path(reader.path)
        return {
            "input": str(source.resolve()), "input_mtime": source.stat().st_mtime, "frames": reader.frame_count,
            "colorizer": self.colorizer.model_id, "vividness": vividness, "strength": strength,
            "spans": [[s.start, [name(i) for i in s.references], str(s.palette)] for s in schedule.spans],
            "shots": "detected" if cuts is None else cuts,
            "hints": [[str(h.x), str(h.y), list(h.rgb)] for h in hints], "hint_frame": hint_frame,
            "keyframe_interval": self.keyframe_interval, "keep": self.keep, "segment_frames": self.segment_frames,
            "carried": "colour-model+grey",  # the saved state's form: runs killed before it start afresh
        }


def shot_l(rgb):
    """A frame (H, W, 3) -> the (224, 224) L a :class:`ShotDetector` gets, here and in the shot pass of
    :mod:`exemplar.video.shot_references` (where FFmpeg scales the frame while decoding it)."""
    from exemplar.pipeline.reference_index import EMBED_SIZE

    return rgb_to_l_fast(cv2.resize(rgb, (EMBED_SIZE, EMBED_SIZE), interpolation=cv2.INTER_AREA))


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
