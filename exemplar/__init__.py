"""exemplar: reference-based photo colorization (Gray2ColorNet-style) in TensorFlow / Keras 3.

Importing the package is cheap: TensorFlow is imported only when a colorizer is used.
"""

__version__ = "0.1.0"


def colorize(target, reference=None, **kwargs):
    """Colorize ``target`` (path or array) from ``reference`` (path, array or list of them),
    or from ``palette=`` ("sepia", "#2a6f97:2,#f4a261", ...).

    Returns an sRGB ``np.ndarray`` of the target's size (uint8, or uint16 for 16-bit input)
    whose CIE L equals the target's. See :func:`exemplar.api.colorize` for the options.
    """
    from exemplar.api import colorize as _colorize

    return _colorize(target, reference, **kwargs)


def colorize_video(source, output, reference=None, **kwargs):
    """Colorize the film ``source`` (video file or folder of numbered frames) into ``output``
    from ``reference`` (path, array or list), ``palette=`` or ``reference_at=[(WHEN, IMAGE)]``.

    Size, frame count, frame rate, audio and every frame's CIE L are kept; colour follows
    optical flow between keyframes. See :func:`exemplar.video.api.colorize_video` for the options.
    """
    from exemplar.video.api import colorize_video as _colorize_video

    return _colorize_video(source, output, reference, **kwargs)
