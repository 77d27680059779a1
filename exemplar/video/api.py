"""``exemplar.colorize_video(...)``: the ``exemplar video`` command from Python."""

from exemplar.pipeline.colorizer import DEFAULT_METHOD, DEFAULT_SIZE, Colorizer
from exemplar.core.image_io import DEFAULT_MAX_PIXELS
from exemplar.video.video_colorizer import VideoColorizer, check_video_output, open_frames


def colorize_video(source, output, reference=None, *, palette=None, reference_at=(), reference_dir=None, top_k=1,
                   on_shots=None, on_scan_progress=None, hints=(), hint_at=0, method=DEFAULT_METHOD,
                   size=DEFAULT_SIZE, strength=1.0, fps=None, keyframe_interval=8, overwrite=False, resume=False,
                   max_pixels=DEFAULT_MAX_PIXELS, colorizer=None, on_progress=None):
    """Colorize the film ``source`` into ``output`` and return a :class:`VideoResult`.

    source, output: a video file (.mp4 .avi .mkv .mov) or a folder of numbered frames (output:
      a path without extension, written as PNG frames). Size, frame count and frame rate are
      kept, and the audio track of a video; every frame's CIE L is the input's.
    reference: path or array, or a list of them, colouring the film from its start; palette:
      instead of references (``"sepia"``, ``"#2a6f97:2,#f4a261"``).
    reference_at: (WHEN, IMAGE) pairs, WHEN a time ("00:01:30", "90s") or a frame number
      ("2250"): IMAGE colours the film from then on.
    reference_dir: a folder of colour photos, or a list of image paths or arrays, to choose each
      shot's ``top_k`` references from (:func:`exemplar.video.shot_references.plan_shots`): the
      film's shots are found first, each is coloured from its own choice (plus ``reference``, for
      every shot); a reference_at pair overrides the choice until the end of its shot.
      on_scan_progress(done, total) follows the frames of that first pass, and on_shots(plan) gets
      its :class:`~exemplar.video.shot_references.ShotPlan` before colorizing starts.
    hints: colour hints ``(x, y, colour)`` / ``"X,Y=COLOUR"`` (x, y in pixels of the frames, or
      "42%") for the frame at ``hint_at`` (time or frame number), carried along the optical flow.
    fps: frame rate of a frame-folder source (default 25); keyframe_interval: the colorizer
      runs at least every this many frames, colour is carried along optical flow in between.
    resume: continue a killed run of the same job without redoing its finished segments.
    colorizer: a :class:`exemplar.pipeline.colorizer.Colorizer` to reuse its loaded models.
    """
    colorizer = colorizer or Colorizer(method=method, size=size, max_pixels=max_pixels)
    references = reference if reference is not None else []
    job = VideoColorizer(colorizer, keyframe_interval=keyframe_interval)
    shots = None
    check_video_output(output, overwrite)  # before the shot pass
    reader = open_frames(source, fps)
    if reference_dir is not None:
        from exemplar.core.errors import ExemplarError
        from exemplar.video.shot_references import plan_shots

        if palette is not None:
            raise ExemplarError("give references to choose from (reference_dir) or a palette, not both")
        if isinstance(references, str) or hasattr(references, "__fspath__") or hasattr(references, "shape"):
            references = [references]
        plan = plan_shots(reader, reference_dir, top_k=top_k, encoder=colorizer.method.encoder,
                          max_pixels=max_pixels, on_progress=on_scan_progress)
        if on_shots is not None:
            on_shots(plan)
        reference_at, references, shots = plan.reference_at(references, reference_at), [], plan.starts
    return job.run(reader, output, references, palette=palette, reference_at=reference_at, strength=strength,
                   overwrite=overwrite, resume=resume, on_progress=on_progress, shots=shots, hints=hints,
                   hint_at=hint_at)
