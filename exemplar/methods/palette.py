"""Colour palettes: a few weighted colours that say what a colorization should look like.

A palette replaces the reference photo. It comes from text (``#2a6f97:2 #f4a261``, or a built-in
name such as ``sepia``) or from the dominant colours of an image, and is used two ways:
- ``Palette.ab_histogram``: the 21 x 21 soft ab histogram the network's colour-distribution
  branch takes (the :class:`exemplar.model.soft_ab_histogram.SoftAbHistogram` convention);
- ``Palette.assign_ab``: the training-free ``match`` method's palette colorization, a
  luminance-aware assignment of the colours to the target's tones (dark colours to dark regions).
"""

import math
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from exemplar.core.color import AB_SCALE, chroma, rgb_to_lab
from exemplar.core.errors import ExemplarError, ImageError

MODES = ("semantic", "strict", "grade")  # see Palette; the first is the default
HIST_BINS = 21  # the network's colour-distribution input: 21 x 21 = 441 bins over ab/110 in [-1, 1]
MAX_COLOURS = 32
# Built-in palettes, dark to light, so every tone of a photo has a colour to take.
BUILTIN = {
    "sepia": "#2b1d0e #5b3a1e #8a6240 #c2a27c #efe2c8",
    "autumn": "#3a1f0f #7a2e12 #b4531c #de8a2a #f2c46d",
    "summer": "#12355b #1f7a8c #6fb35f #f4d35e #f7f0d6",
    "teal-orange": "#0b2a33 #1c5a66 #4f8f96 #d9884e #f6c9a0",
    "pastel": "#6d6a8f #9bb7d4 #b5d8b0 #f4c7b8 #fbf1d3",
    "vintage": "#2e2a24 #5e4b3c #8c7a5b #c1a97f #e8dcc0",
    "forest": "#122015 #2c4a25 #55783a #93a35a #d8d9a4",
}
_MODE_SUFFIX = re.compile(r"(.*?)\s*@\s*([A-Za-z]*)\s*")  # 'teal-orange@grade'
_TOKEN = re.compile(r"#?([0-9a-fA-F]{6})(?::(.*))?")


@dataclass(frozen=True, eq=False)
class Palette:
    """K colours with weights. ``lab`` (K, 3) float32 CIE Lab; ``weights`` (K,) float32 > 0, sum 1.

    mode: how the colours are laid on a photo (:mod:`exemplar.methods.palette_transport`): ``semantic``
    (each region takes the colour it can plausibly have; weights are a preference), ``strict``
    (calm regions, each colour covers its weight's share), ``grade`` (split-toning: shadows to
    highlights toned by the colours dark to light).
    """

    lab: np.ndarray
    weights: np.ndarray
    name: str
    mode: str = "semantic"

    def __post_init__(self):
        lab = np.array(self.lab, np.float32).reshape(-1, 3)
        weights = np.array(self.weights, np.float64).reshape(-1)
        if len(lab) == 0 or len(lab) != len(weights):
            raise ExemplarError(f"palette {self.name!r}: {len(lab)} colours and {len(weights)} weights")
        if not np.all(np.isfinite(weights)) or np.any(weights <= 0):
            raise ExemplarError(f"palette {self.name!r}: weights must be positive numbers")
        if self.mode not in MODES:
            raise ExemplarError(f"unknown palette mode {self.mode!r}; choose one of: {', '.join(MODES)}")
        lab.setflags(write=False)
        weights = (weights / weights.sum()).astype(np.float32)
        weights.setflags(write=False)
        object.__setattr__(self, "lab", lab)
        object.__setattr__(self, "weights", weights)

    @property
    def rgb(self):
        """(K, 3) float32 sRGB in [0, 1] (clipped; colours from text are in gamut already)."""
        from exemplar.core.color import lab_to_rgb

        return lab_to_rgb(self.lab)

    def hex(self):
        """The colours as ``#rrggbb`` strings."""
        return ["#" + "".join(f"{round(c * 255):02x}" for c in colour) for colour in self.rgb]

    def ab_histogram(self, bins=HIST_BINS, sigma=None):
        """(bins * bins,) float32 summing to 1: each colour's ab splatted with its weight."""
        return soft_ab_histogram(self.lab[:, 1:], self.weights, bins=bins, sigma=sigma)

    def assign_ab(self, target_l, softness=None, cell=4):
        """Colour a luminance map with the palette by tone alone: (h, w) L in [0, 100] -> (h, w, 2) ab.

        The ``match`` method's palette colorization (it has no colour prior to say what is skin or
        sky). The colours are sorted dark to light and each owns a slice of the tone scale as wide as
        its weight (:func:`exemplar.methods.palette_transport.tone_slices`): dark regions take the dark
        colours, bright regions the light ones, whatever the photo's exposure. ``strict`` places a
        pixel by its L rank, so each colour covers its weight's share; the other modes by its
        stretched L (a grader's shadows, midtones, highlights), so an even area keeps one colour.
        ``softness`` (scale units) blurs slice edges into gradients; None takes the mode's (strict
        0.03, grade 0.08; semantic as strict). ``cell`` (pixels): tones are decided on an
        edge-preserving blur of L ``cell`` times smaller and brought up with the guided filter, so
        a texture whose tones straddle a slice edge takes one colour, not grain; 1 decides per pixel.
        """
        from exemplar.methods.palette_transport import TONE_SOFTNESS, calm_l, calm_upsample, tone_slices

        target_l = np.asarray(target_l, np.float32)
        if softness is None:
            softness = TONE_SOFTNESS["grade" if self.mode == "grade" else "strict"]
        height, width = target_l.shape
        by_rank = self.mode == "strict"  # strict keeps the shares; the others tone by L (see tone_slices)
        if cell <= 1:
            share = tone_slices(target_l, self, softness, by_rank)
            return (share @ self.lab[:, 1:].astype(np.float64)).astype(np.float32)
        small = (max(1, round(width / cell)), max(1, round(height / cell)))
        l_small = cv2.resize(target_l, small, interpolation=cv2.INTER_AREA)  # (h/cell, w/cell)
        share = tone_slices(calm_l(l_small), self, softness, by_rank)
        ab_small = (share @ self.lab[:, 1:].astype(np.float64)).astype(np.float32)
        return calm_upsample(ab_small, target_l)


def soft_ab_histogram(ab, weights=None, bins=HIST_BINS, sigma=None):
    """Numpy twin of ``SoftAbHistogram``: (..., 2) ab in Lab units -> (bins * bins,) float32.

    Bin centres are linspace(-1, 1, bins) over ab/110 (clipped into [-1, 1]); the flat index is
    a_bin * bins + b_bin. sigma=None: bilinear splat (a colour between two centres splits its
    mass linearly); sigma > 0 (ab/110 units): Gaussian splat. Sums to 1 (all zero if no mass).
    """
    ab = np.clip(np.asarray(ab, np.float64).reshape(-1, 2) / AB_SCALE, -1.0, 1.0)  # (N, 2)
    mass = np.ones(len(ab)) if weights is None else np.asarray(weights, np.float64).reshape(-1)
    centres = np.linspace(-1.0, 1.0, bins)

    def kernel(values):  # (N,) -> (N, bins), each row summing to 1
        distance = values[:, None] - centres[None]
        if sigma is None:
            return np.maximum(0.0, 1.0 - np.abs(distance) / (2.0 / (bins - 1)))
        k = np.exp(-0.5 * (distance / sigma) ** 2)
        return k / k.sum(axis=1, keepdims=True)

    histogram = (kernel(ab[:, 0]) * mass[:, None]).T @ kernel(ab[:, 1])  # (bins, bins), a major
    total = histogram.sum()
    return (histogram.reshape(-1) / total if total > 0 else histogram.reshape(-1)).astype(np.float32)


def parse_palette(text, mode=None):
    """``'#2a6f97:2, #f4a261 #e76f51'`` (weights optional, default 1) or a built-in name -> Palette.

    A ``@mode`` suffix (``'teal-orange@grade'``) chooses the palette's mode (see :class:`Palette`);
    ``mode`` is the one to use when the text has none (None: ``semantic``). A palette in a mode
    other than semantic has the mode in its name (``teal-orange-grade``), so outputs stay apart.
    Raises :class:`ExemplarError` naming the bad token, or listing the built-ins for a bad name.
    """
    text = str(text).strip()
    suffix = _MODE_SUFFIX.fullmatch(text)
    if suffix:
        text, mode = suffix.group(1), suffix.group(2).lower()
        if mode not in MODES:
            raise ExemplarError(f"unknown palette mode {mode!r} in {text + '@' + mode!r}; choose one of: {', '.join(MODES)}")
    mode = mode or MODES[0]
    if text.lower() in BUILTIN:
        return _parse_colours(BUILTIN[text.lower()], text.lower(), mode)
    tokens = [t for t in re.split(r"[,\s]+", text) if t]
    if not tokens:
        raise ExemplarError(f"empty palette; give #RRGGBB colours or one of: {', '.join(BUILTIN)}")
    if len(tokens) == 1 and not _TOKEN.fullmatch(tokens[0]) and not tokens[0].startswith("#"):
        raise ExemplarError(f"unknown palette {text!r}; give #RRGGBB colours or one of: {', '.join(BUILTIN)}")
    return _parse_colours(text, "-".join(t.split(":")[0].lstrip("#").lower() for t in tokens), mode)


def with_mode(palette, mode):
    """The same colours and weights in another mode (name suffixed with the mode unless semantic)."""
    base = palette.name.removesuffix(f"-{palette.mode}") if palette.mode != MODES[0] else palette.name
    name = base if mode == MODES[0] else f"{base}-{mode}"
    return Palette(lab=palette.lab, weights=palette.weights, name=name, mode=mode)


def _parse_colours(text, name, mode=MODES[0]):
    tokens = [t for t in re.split(r"[,\s]+", text.strip()) if t]
    if len(tokens) > MAX_COLOURS:
        raise ExemplarError(f"palette {text!r} has {len(tokens)} colours; at most {MAX_COLOURS} are allowed")
    colours, weights = [], []
    for token in tokens:
        match = _TOKEN.fullmatch(token)
        if not match:
            raise ExemplarError(f"bad palette colour {token!r} in {text!r}: expected #RRGGBB[:weight]")
        weight = 1.0
        if match.group(2) is not None:
            try:
                weight = float(match.group(2))
            except ValueError:
                weight = math.nan
            if not math.isfinite(weight) or weight <= 0:
                raise ExemplarError(f"bad weight in {token!r} in {text!r}: a weight must be a positive number")
        colours.append([int(match.group(1)[i : i + 2], 16) / 255.0 for i in (0, 2, 4)])
        weights.append(weight)
    palette = Palette(lab=rgb_to_lab(np.array(colours, np.float32)), weights=np.array(weights), name=name)
    return with_mode(palette, mode) if mode != MODES[0] else palette


def palette_from_image(source, k=5, min_chroma=8.0, max_pixels=None):
    """The ``k`` dominant colours of an image (path or array) as a Palette.

    k-means (cv2.kmeans, seeded, so the result is repeatable) on the ab of the image's chromatic
    pixels (chroma >= min_chroma: greys and near-whites would pull every centre towards grey);
    a colour's weight is its cluster's share and its L the cluster's mean L.
    Raises :class:`ImageError` for unreadable or black-and-white images.
    """
    from exemplar.core.image_io import DEFAULT_MAX_PIXELS, read_image

    if not 1 <= int(k) <= MAX_COLOURS:
        raise ExemplarError(f"palette colours must be between 1 and {MAX_COLOURS}, got {k}")
    image = read_image(source, max_pixels=max_pixels or DEFAULT_MAX_PIXELS)
    if image.is_grey:
        raise ImageError(image.path, "has no colour (it is black-and-white); cannot take a palette from it")
    rgb = image.rgb
    scale = 256.0 / max(rgb.shape[:2])  # ~65k pixels are plenty for 5 clusters
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA)
    lab = rgb_to_lab(rgb).reshape(-1, 3)  # (N, 3)
    if image.alpha is not None and scale >= 1:  # transparent pixels are not part of the picture
        lab = lab[image.alpha.reshape(-1) > 0.5]
    chromatic = lab[chroma(lab) >= min_chroma]
    if len(chromatic) < max(20, 0.01 * len(lab)):  # almost no colour: cluster everything there is
        chromatic = lab
    k = min(int(k), len(np.unique(np.round(chromatic[:, 1:]), axis=0)))
    cv2.setRNGSeed(0)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 0.1)
    _, labels, centres = cv2.kmeans(np.ascontiguousarray(chromatic[:, 1:]), k, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
    labels = labels.reshape(-1)
    counts = np.bincount(labels, minlength=k)
    keep = np.argsort(-counts)
    keep = keep[counts[keep] > 0]  # (K,) clusters, largest first
    mean_l = np.array([chromatic[labels == c, 0].mean() for c in keep], np.float32)
    colours = np.concatenate([mean_l[:, None], centres[keep]], axis=1)
    name = "from-" + (Path(image.path).stem if image.path != "<array>" else "image")
    return Palette(lab=colours, weights=counts[keep].astype(np.float64), name=name)
