"""``Colorizer``: the colorization core, as steps a caller can use one by one, and ``run``, all of them.

Steps (shapes for a 6000x4000 target at the default working size 256):
1. :meth:`Colorizer.read`: the target (any size) -> its CIE L at full size (4000, 6000), and what the
   output keeps of it (alpha, bit depth); :meth:`Colorizer.reference_lab`: a reference -> its Lab at
   the working size;
2. :meth:`Colorizer.working_l`: L shrunk to the working size (256, 384); :meth:`Colorizer.predict`:
   the method's ab there (256, 384, 2), from references, a palette, or neither (automatic), with
   colour hints and this call's vividness;
3. :meth:`Colorizer.upsample`: ab up to full size with a guided filter that follows the full-size
   L's edges, each hint's spot painted its colour where the upsampling left it more than 2 ab off;
4. :meth:`Colorizer.compose`: full-size L + ab (scaled by strength) into sRGB, reducing chroma
   where a colour falls outside the gamut, so the output's L is the input's L.
The method (``match`` or ``net``) only ever sees the working size: cost beyond that is linear in
pixels and cheap. :meth:`Colorizer.run` does 1-4 for a photo; a film (exemplar.video) does 1 and 2 on
keyframes and 3 and 4 on every frame, with colour carried along optical flow in between.
"""

import hashlib
import warnings
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from exemplar.core.color import lab_to_rgb_keep_l, rgb_to_l_fast, rgb_to_lab
from exemplar.core.errors import ExemplarError, ExemplarWarning, ImageError
from exemplar.core.guided_filter import guided_upsample
from exemplar.methods.hints import check_hints, paint_spots
from exemplar.methods.hints import resolve as resolve_hints
from exemplar.core.image_io import DEFAULT_MAX_PIXELS, read_image

METHODS = ("match", "net")
DEFAULT_METHOD = "net"
DEFAULT_SIZE = 256
MAX_ASPECT = 4  # the working size's long side is at most 4x its short side (panoramas)
# The guided filter from the working size to full size: a 9x9 window at the working size, eps in
# L units^2 (about 3 L of local contrast counts as an edge that colour follows).
UPSAMPLE_RADIUS, UPSAMPLE_EPS = 4, 10.0


@dataclass(frozen=True)
class Target:
    """A target as the colorizer reads it: its luminance, and what the output keeps of the file."""

    l: np.ndarray  # (H, W) float32 CIE L in [0, 100] at full size, kept exactly in the output
    alpha: np.ndarray | None  # (H, W) float32, the target's own alpha passed through
    bit_depth: int  # 8 or 16, the target's
    path: str  # the file, or "<array>"


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
        self.weights = weights
        self.follow_reference = follow_reference
        if method == "net":
            from exemplar.methods.net_colorizer import DEFAULT_VIVIDNESS, NetColorizer

            vividness = DEFAULT_VIVIDNESS if vividness is None else vividness
            self.method = NetColorizer(weights, follow_reference=follow_reference, vividness=vividness)
        else:
            from exemplar.methods.match_colorizer import MatchColorizer

            self.method = MatchColorizer()
        self.vividness = vividness  # None for match (no such setting)

    def colorize(self, target, references=(), strength=1.0, palette=None, vividness=None, hints=()):
        """Return the colorized target as (H, W, 3) float32 sRGB in [0, 1]; see :meth:`run`."""
        return self.run(target, references, strength=strength, palette=palette, vividness=vividness, hints=hints).rgb

    def run(self, target, references=(), strength=1.0, palette=None, vividness=None, hints=()):
        """Colorize ``target`` (path or array) from ``references`` (paths or arrays), a palette, or
        automatically when neither is given (``net`` only): every step, in order.

        palette: an :class:`exemplar.methods.palette.Palette` or its text (``"sepia"``, ``"#2a6f97 #f4a261"``)
          used instead of references.
        strength in [0, 1] blends from the grey input (0) to the full colorization (1).
        vividness: for ``net``, this call's vividness in [0, 1) instead of the colorizer's (ignored by match).
        hints: colour hints, ``(x, y, colour)`` tuples, "X,Y=COLOUR" strings or :class:`exemplar.methods.hints.Hint`
          (x, y in pixels of the target or "42%"; ``net`` only), at most exemplar.methods.hints.MAX_HINTS.
        Raises :class:`ImageError` for unusable files, :class:`ExemplarError` for bad options.
        """
        references, palette, hints = self.check_job(references, palette, strength, hints)
        image = self.read(target)
        reference_labs = [self.reference_lab(r) for r in references]
        spots = resolve_hints(hints, width=image.l.shape[1], height=image.l.shape[0])  # [(x, y, (a, b))]
        l_work = self.working_l(image.l)
        ab_work = self.predict(l_work, reference_labs, palette, hints=spots, vividness=vividness)
        ab_full = self.upsample(l_work, ab_work, image.l, spots)
        return Colorized(rgb=self.compose(image.l, ab_full, strength), alpha=image.alpha, bit_depth=image.bit_depth)

    # ------------------------------------------------------------------ the steps

    def check_job(self, references, palette, strength=1.0, hints=()):
        """A job's colour options, checked before any work -> (references list, Palette or None, [Hint]).

        ExemplarError for references and a palette together, a strength outside [0, 1], automatic
        colorization or hints with a method that cannot do them, unreadable or too many hints."""
        references, palette = colour_sources(references, palette, strength)
        self._check_sources(references, palette)
        hints = check_hints(hints)
        if hints and self.method_name != "net":
            raise ExemplarError("colour hints need --method net")
        return references, palette, hints

    def read(self, target):
        """Read a target (path or array) -> :class:`Target`; warn (ExemplarWarning) if it is in colour."""
        image = read_image(target, max_pixels=self.max_pixels)
        if not image.is_grey:
            warnings.warn(f"{image.path}: target is in colour; only its luminance is used", ExemplarWarning, stacklevel=3)
        return Target(l=rgb_to_l_fast(image.rgb), alpha=image.alpha, bit_depth=image.bit_depth, path=image.path)

    def reference_lab(self, source):
        """Read a reference and return its Lab at the working size; refuse grey references."""
        image = read_image(source, max_pixels=self.max_pixels)
        if image.is_grey:
            raise ImageError(image.path, "the reference has no colour (it is black-and-white); give a colour photo")
        return rgb_to_lab(resize_short_side(image.rgb, self.size))

    def working_l(self, l_full):
        """(H, W) L -> (h, w) L at the working size, what the method sees."""
        return resize_short_side(l_full, self.size)

    def predict(self, l_work, reference_labs=(), palette=None, hints=(), vividness=None):
        """The method's ab at the working size: (h, w) L in [0, 100] -> (h, w, 2) ab.

        reference_labs: Lab arrays from :meth:`reference_lab`; palette: a Palette instead of them;
        neither: automatic. hints: resolved, [(x, y, (a, b))] with x, y fractions of the picture in
        [0, 1) (:func:`exemplar.methods.hints.resolve`). vividness: this call's (``net`` only), None: the
        colorizer's. The options are as :meth:`check_job` leaves them.
        """
        self._check_sources(reference_labs, palette)
        options = {"vividness": vividness} if vividness is not None and self.method_name == "net" else {}
        if hints:
            options["hints"] = hints
        if palette is not None:
            return self.method.predict_ab_palette(l_work, palette, **options)
        if not reference_labs:
            return self.method.predict_ab_auto(l_work, **options)
        return self.method.predict_ab(l_work, list(reference_labs), **options)

    def upsample(self, l_work, ab_work, l_full, hints=()):
        """ab (h, w, 2) at the working size -> (H, W, 2) at the size of ``l_full`` (H, W), following
        its luminance edges; then each hint's spot (resolved, as for :meth:`predict`) that is more
        than exemplar.methods.hints.SPOT_CLOSE (2) ab units off its colour is set to it. The net method lays
        each hint's colour over its region at 1/4 of the working size, so its point is usually
        close already; where the region is a cell or two (a hint on an outline, a thin object) this
        filter's 9x9 window blurs it (11.2 ab units off, tests/test_hints_cli.py asks for under 10)."""
        ab_full = guided_upsample(l_work, ab_work, l_full, radius=UPSAMPLE_RADIUS, eps=UPSAMPLE_EPS)
        if hints:
            paint_spots(ab_full, l_full, hints)
        return ab_full

    def compose(self, l_full, ab_full, strength=1.0):
        """Full-size L (H, W) and ab (H, W, 2) -> (H, W, 3) float32 sRGB in [0, 1], chroma reduced
        where out of gamut so L stays the input's. ``strength`` scales ab (0: the grey input) in
        place: at 24 megapixels a copy would cost 190 MB."""
        if strength != 1.0:
            ab_full *= strength
        return lab_to_rgb_keep_l(l_full, ab_full)

    def _check_sources(self, references, palette):
        """Neither references nor a palette is automatic colorization, which only ``net`` does."""
        if not len(references) and palette is None and not hasattr(self.method, "predict_ab_auto"):
            raise ExemplarError(f"the {self.method_name} method needs a colour reference or a palette; "
                                "automatic colorization (neither) needs --method net")

    @cached_property
    def model_id(self):
        """What names this colorizer's output for a resumed job: method, size and, for ``net``, a
        digest of the model files, follow-reference and the default vividness."""
        settings = {"method": self.method_name, "size": self.size}
        if self.method_name == "net":
            from importlib.resources import files

            folder = files("exemplar") / "weights" if self.weights is None else self.weights
            digest = hashlib.sha1()
            for name in ("default.json", "default.npz"):
                with open(f"{folder}/{name}", "rb") as handle:
                    digest.update(handle.read())
            settings |= {"weights": digest.hexdigest(), "follow_reference": self.follow_reference,
                         "vividness": self.vividness}
        return settings


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
        from exemplar.methods.palette import parse_palette

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
