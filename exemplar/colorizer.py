"""``Colorizer``: the whole colorization job, from files or arrays to a full-size colour image.

Steps (shapes for a 6000x4000 target at the default working size 256):
1. read the target (any size) and the references; take the target's CIE L at full size (4000, 6000);
2. shrink L to the working size (256, 384) and the references to theirs; the method predicts ab
   there (256, 384, 2);
3. bring ab up to full size with a guided filter that follows the full-size L's edges;
4. compose full-size L + ab into sRGB, reducing chroma where a colour falls outside the gamut, so
   the output's L is the input's L.
The method (``match`` or ``net``) only ever sees the working size: cost beyond that is linear in
pixels and cheap. ``net`` works in three modes: from references, from a palette, or automatically
(neither given).
"""

import warnings
from dataclasses import dataclass

import cv2
import numpy as np

from exemplar.color import lab_to_rgb_keep_l, rgb_to_l_fast, rgb_to_lab
from exemplar.errors import ExemplarError, ImageError
from exemplar.guided_filter import guided_upsample
from exemplar.hints import check_hints, paint_spots
from exemplar.hints import resolve as resolve_hints
from exemplar.image_io import DEFAULT_MAX_PIXELS, read_image

METHODS = ("match", "net")
DEFAULT_METHOD = "net"
DEFAULT_SIZE = 256
MAX_ASPECT = 4  # the working size's long side is at most 4x its short side (panoramas)


class ExemplarWarning(UserWarning):
    """Something the user should know that did not stop the job (e.g. a colour target)."""


@dataclass(frozen=True)
class Colorized:
    """A colorized target: what :meth:`Colorizer.run` returns and the CLI writes."""

    rgb: np.ndarray  # (H, W, 3) float32 sRGB in [0, 1], the target's full size
    alpha: np.ndarray | None  # (H, W) float32, the target's own alpha passed through
    bit_depth: int  # 8 or 16, the target's


class Colorizer:
    """Load a method's models once, then colorize many targets.

    method: "match" (training-free correspondence) or "net" (the trained network).
    weights: for "net", a folder with ``default.npz``/``default.json`` (None: the shipped model).
    size: working short side in pixels; larger is slower and finer.
    follow_reference: for "net", copy the reference's colours wherever the correspondence finds a
      match, instead of the learned gate (which uses the network's own colours where the
      reference does not fit).
    vividness: for "net", in [0, 1): 1 - the annealed-mean temperature (default 0.62, T = 0.38);
      lower is safer and duller, higher more saturated and patchier.
    """

    def __init__(self, method=DEFAULT_METHOD, size=DEFAULT_SIZE, max_pixels=DEFAULT_MAX_PIXELS, weights=None,
                 follow_reference=False, vividness=None):
        if method not in METHODS:
            raise ExemplarError(f"unknown method {method!r}; choose one of: {', '.join(METHODS)}")
        if size < 64:
            raise ExemplarError(f"working size {size} is too small; use at least 64")
        self.method_name = method
        self.size = size
        self.max_pixels = max_pixels
        if method == "net":
            from exemplar.net_colorizer import DEFAULT_VIVIDNESS, NetColorizer

            vividness = DEFAULT_VIVIDNESS if vividness is None else vividness
            self.method = NetColorizer(weights, follow_reference=follow_reference, vividness=vividness)
        else:
            from exemplar.match_colorizer import MatchColorizer

            self.method = MatchColorizer()

    def colorize(self, target, references=(), strength=1.0, palette=None, vividness=None, hints=()):
        """Return the colorized target as (H, W, 3) float32 sRGB in [0, 1]; see :meth:`run`."""
        return self.run(target, references, strength=strength, palette=palette, vividness=vividness, hints=hints).rgb

    def run(self, target, references=(), strength=1.0, palette=None, vividness=None, hints=()):
        """Colorize ``target`` (path or array) from ``references`` (paths or arrays), a palette, or
        automatically when neither is given (``net`` only).

        palette: an :class:`exemplar.palette.Palette` or its text (``"sepia"``, ``"#2a6f97 #f4a261"``)
          used instead of references.
        strength in [0, 1] blends from the grey input (0) to the full colorization (1).
        vividness: for ``net``, this call's vividness in [0, 1) instead of the colorizer's (ignored by match).
        hints: colour hints, ``(x, y, colour)`` tuples, "X,Y=COLOUR" strings or :class:`exemplar.hints.Hint`
          (x, y in pixels of the target or "42%"; ``net`` only), at most exemplar.hints.MAX_HINTS.
        Raises :class:`ImageError` for unusable files, :class:`ExemplarError` for bad options.
        """
        references, palette = colour_sources(references, palette, strength)
        automatic = not references and palette is None
        if automatic and not hasattr(self.method, "predict_ab_auto"):
            raise ExemplarError(f"the {self.method_name} method needs a colour reference or a palette; "
                                "automatic colorization (neither) needs --method net")
        hints = check_hints(hints)
        if hints and self.method_name != "net":
            raise ExemplarError("colour hints need --method net")
        image = read_image(target, max_pixels=self.max_pixels)
        if not image.is_grey:
            warnings.warn(f"{image.path}: target is in colour; only its luminance is used", ExemplarWarning, stacklevel=2)
        reference_labs = [self.reference_lab(r) for r in references]

        l_full = rgb_to_l_fast(image.rgb)  # (H, W) L in [0, 100], kept exactly in the output
        l_work = resize_short_side(l_full, self.size)  # (h, w)
        options = {"vividness": vividness} if vividness is not None and self.method_name == "net" else {}
        if hints:
            options["hints"] = resolve_hints(hints, width=l_full.shape[1], height=l_full.shape[0])
        if palette is not None:
            ab_work = self.method.predict_ab_palette(l_work, palette, **options)  # (h, w, 2) ab
        elif automatic:
            ab_work = self.method.predict_ab_auto(l_work, **options)
        else:
            ab_work = self.method.predict_ab(l_work, reference_labs, **options)
        ab_full = guided_upsample(l_work, ab_work, l_full, radius=4, eps=10.0)  # eps in L units^2
        if hints:
            paint_spots(ab_full, l_full, options["hints"])  # each clicked point is exactly its colour
        if strength != 1.0:
            ab_full *= strength
        return Colorized(rgb=lab_to_rgb_keep_l(l_full, ab_full), alpha=image.alpha, bit_depth=image.bit_depth)

    def reference_lab(self, source):
        """Read a reference and return its Lab at the working size; refuse grey references."""
        image = read_image(source, max_pixels=self.max_pixels)
        if image.is_grey:
            raise ImageError(image.path, "the reference has no colour (it is black-and-white); give a colour photo")
        return rgb_to_lab(resize_short_side(image.rgb, self.size))


def colour_sources(references, palette, strength=1.0):
    """Check a job's colour options -> (list of references, Palette or None).

    One reference (path or array) becomes a list; palette text is parsed; references and a palette
    together, or a strength outside [0, 1], raise ExemplarError. Neither is allowed (automatic).
    """
    if not 0.0 <= strength <= 1.0:
        raise ExemplarError(f"strength must be between 0 and 1, got {strength}")
    if isinstance(references, (str, np.ndarray)) or hasattr(references, "__fspath__"):
        references = [references]
    if isinstance(palette, str):
        from exemplar.palette import parse_palette

        palette = parse_palette(palette)
    if palette is not None and references:
        raise ExemplarError("give colour references or a palette, not both")
    return list(references), palette


def resize_short_side(image, size):
    """Resize (H, W[, C]) so the short side is ``size`` and the aspect at most MAX_ASPECT."""
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new_h = int(round(min(height * scale, size * MAX_ASPECT)))
    new_w = int(round(min(width * scale, size * MAX_ASPECT)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    return resized.reshape((new_h, new_w) + image.shape[2:])
