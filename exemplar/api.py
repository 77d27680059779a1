"""The Python API: ``exemplar.colorize(target, reference)`` for notebooks and other programs."""

import numpy as np

from exemplar.pipeline.colorizer import DEFAULT_METHOD, DEFAULT_SIZE, Colorizer
from exemplar.core.image_io import DEFAULT_MAX_PIXELS, rgb_to_uint


def colorize(target, reference=None, *, palette=None, method=DEFAULT_METHOD, size=DEFAULT_SIZE, strength=1.0,
             vividness=None, hints=(), max_pixels=DEFAULT_MAX_PIXELS, colorizer=None):
    """Colorize ``target`` from ``reference`` (or a palette, or neither: automatic) and return an image array.

    target: path or array ((H, W) grey, (H, W, 3) RGB, (H, W, 4) RGBA; uint8, uint16 or float
      in [0, 1]); a colour target is accepted and only its luminance is used.
    reference: path or array, or a list of them (colours are drawn from all).
    palette: instead of references, a :class:`exemplar.methods.palette.Palette` or its text
      (``"sepia"``, ``"#2a6f97:2,#f4a261"``).
    With neither reference nor palette, ``net`` colorizes on its own (automatic mode).
    method: "match" or "net"; size: working short side; strength: 0 (grey) .. 1 (full colour).
    vividness: for ``net``, 0 .. 0.95 (default 0.62): 1 - the annealed-mean temperature.
    hints: for ``net``, colour hints ``[(x, y, colour), ...]``: x, y in pixels of the target or
      percentages ("42%"), colour a hex code, a CSS name or an (r, g, b) tuple of 0..255.
    colorizer: a :class:`exemplar.pipeline.colorizer.Colorizer` to reuse its loaded models across calls.
    Returns (H, W, 3) RGB, or (H, W, 4) RGBA when the target has alpha; uint16 for 16-bit
    inputs, uint8 otherwise. Its CIE L equals the target's (to within quantisation).
    """
    colorizer = colorizer or Colorizer(method=method, size=size, max_pixels=max_pixels)
    references = reference if reference is not None else []
    result = colorizer.run(target, references, strength=strength, palette=palette, vividness=vividness, hints=hints)
    rgb = result.rgb if result.alpha is None else np.dstack([result.rgb, result.alpha])
    return rgb_to_uint(rgb, result.bit_depth)
