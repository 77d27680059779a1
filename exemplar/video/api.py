"""``exemplar.colorize_video(...)``: the ``exemplar video`` command from Python."""

from exemplar.colorizer import DEFAULT_METHOD, DEFAULT_SIZE, Colorizer
from exemplar.image_io import DEFAULT_MAX_PIXELS
from exemplar.video.video_colorizer import VideoColorizer


def colorize_video(source, output, reference=None, *, palette=None, reference_at=(), method=DEFAULT_METHOD,
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
    fps: frame rate of a frame-folder source (default 25); keyframe_interval: the colorizer
      runs at least every this many frames, colour is carried along optical flow in between.
    resume: continue a killed run of the same job without redoing its finished segments.
    colorizer: a :class:`exemplar.colorizer.Colorizer` to reuse its loaded models.
    """
    colorizer = colorizer or Colorizer(method=method, size=size, max_pixels=max_pixels)
    references = reference if reference is not None else []
    job = VideoColorizer(colorizer, keyframe_interval=keyframe_interval)
    return job.run(source, output, references, palette=palette, reference_at=reference_at, strength=strength,
                   fps=fps, overwrite=overwrite, resume=resume, on_progress=on_progress)
