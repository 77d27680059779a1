"""Image-quality metrics for judging a colorization against its ground truth and its reference.

All functions take sRGB images as ``np.ndarray`` (H, W, 3), float in [0, 1] or uint8/uint16
(converted to float [0, 1] here), and return plain Python floats.

- ``psnr_rgb`` / ``ssim_rgb``: fidelity to the ground-truth colour photo, computed by
  scikit-image on all three sRGB channels with ``data_range=1``.
- ``colourfulness``: Hasler & Suesstrunk (2003), "Measuring colourfulness in natural images",
  computed on 0-255 RGB as in the paper (0 for a grey image; about 15 "slightly", 33
  "moderately", 59 "quite", 82 "highly", 109 "extremely" colourful).
- ``ab_histogram`` / ``histogram_intersection`` / ``ab_histogram_intersection``: how much of
  one image's colour distribution another one shares. The CIE ab plane is cut into a fixed
  21 x 21 grid over [-110, 110]^2 (bins about 10.5 units wide, so the centre bin holds the
  near-greys |a|, |b| < 5.2). Histograms are normalised to sum 1, so the intersection
  sum(min(p, q)) is 1 for identical distributions and 0 for disjoint ones. With
  ``min_chroma > 0`` pixels whose chroma sqrt(a^2 + b^2) is below it are ignored, to compare
  only the coloured parts; an image with no pixel left has an all-zero histogram, which
  intersects nothing (0), except another empty one (1: both are colourless).
"""

import numpy as np

from exemplar.core.color import AB_SCALE, chroma, rgb_to_lab
from exemplar.core.errors import ExemplarError

AB_BINS = 21  # bins per axis of the ab histogram
AB_RANGE = (-AB_SCALE, AB_SCALE)  # covers the sRGB gamut (|a|, |b| <= ~108); outliers are clipped in
PSNR_CAP_DB = 100.0  # PSNR of identical images (MSE = 0) is reported as this instead of inf


def as_float_rgb(image):
    """(H, W, 3) or (N, 3) sRGB, float [0, 1] or uint8/uint16 -> float32 in [0, 1]."""
    image = np.asarray(image)
    if image.ndim < 2 or image.shape[-1] != 3:
        raise ExemplarError(f"expected an RGB array of shape (..., 3), got shape {image.shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    return image.astype(np.float32)


def _check_same_shape(a, b):
    if a.shape != b.shape:
        raise ExemplarError(f"images to compare differ in shape: {a.shape} vs {b.shape}")


def psnr_rgb(output, truth, cap_db=PSNR_CAP_DB):
    """PSNR in dB over the three sRGB channels (data range 1); identical images give ``cap_db``."""
    from skimage.metrics import peak_signal_noise_ratio

    output, truth = as_float_rgb(output), as_float_rgb(truth)
    _check_same_shape(output, truth)
    if np.array_equal(output, truth):  # MSE = 0: skimage would divide by zero and return inf
        return float(cap_db)
    return float(min(peak_signal_noise_ratio(truth, output, data_range=1.0), cap_db))


def ssim_rgb(output, truth):
    """Mean SSIM over the three sRGB channels (scikit-image, 7x7 window, data range 1), in [-1, 1]."""
    from skimage.metrics import structural_similarity

    output, truth = as_float_rgb(output), as_float_rgb(truth)
    _check_same_shape(output, truth)
    side = min(output.shape[:2])
    if side < 3:
        raise ExemplarError(f"image too small for SSIM: {output.shape[:2]} (need at least 3 x 3)")
    # skimage's default window is 7; smaller images need a smaller odd window.
    win = min(7, side if side % 2 else side - 1)
    return float(structural_similarity(truth, output, channel_axis=-1, data_range=1.0, win_size=win))


def colourfulness(image):
    """Hasler & Suesstrunk (2003) colourfulness of an sRGB image, on the 0-255 scale; 0 for grey."""
    rgb = as_float_rgb(image).reshape(-1, 3).astype(np.float64) * 255.0
    rg = rgb[:, 0] - rgb[:, 1]  # red-green opponent channel
    yb = 0.5 * (rgb[:, 0] + rgb[:, 1]) - rgb[:, 2]  # yellow-blue opponent channel
    spread = np.hypot(rg.std(), yb.std())
    mean = np.hypot(rg.mean(), yb.mean())
    return float(spread + 0.3 * mean)


def mean_chroma(image):
    """Mean CIE Lab chroma sqrt(a^2 + b^2) of an sRGB image: how much colour, whatever its spread."""
    return float(chroma(rgb_to_lab(as_float_rgb(image))).mean())


def ab_histogram(image, min_chroma=0.0, weights=None, bins=AB_BINS):
    """Normalised (bins, bins) histogram of the CIE ab values of an sRGB image (any (..., 3) array).

    ``weights`` (same leading shape as ``image``) weighs each colour, e.g. a palette's shares.
    Pixels with chroma below ``min_chroma`` are left out; the result sums to 1, or is all zeros
    if nothing is left. Axis 0 is a, axis 1 is b.
    """
    lab = rgb_to_lab(as_float_rgb(image)).reshape(-1, 3)
    w = np.ones(len(lab), np.float64) if weights is None else np.asarray(weights, np.float64).reshape(-1)
    if len(w) != len(lab):
        raise ExemplarError(f"ab_histogram: {len(w)} weights for {len(lab)} colours")
    keep = chroma(lab) >= min_chroma if min_chroma > 0 else np.ones(len(lab), bool)
    # Clip into the range so that rare out-of-range values land in the border bins.
    ab = np.clip(lab[keep, 1:], AB_RANGE[0], AB_RANGE[1])
    hist, _, _ = np.histogram2d(ab[:, 0], ab[:, 1], bins=bins, range=[AB_RANGE, AB_RANGE], weights=w[keep])
    total = hist.sum()
    return hist / total if total > 0 else hist


def histogram_intersection(hist_a, hist_b):
    """sum(min(p, q)) of two normalised histograms: 1 identical, 0 disjoint (two empty ones: 1)."""
    hist_a, hist_b = np.asarray(hist_a, np.float64), np.asarray(hist_b, np.float64)
    _check_same_shape(hist_a, hist_b)
    if hist_a.sum() == 0 and hist_b.sum() == 0:
        return 1.0
    return float(np.minimum(hist_a, hist_b).sum())


def ab_histogram_intersection(image, other, min_chroma=0.0):
    """Intersection of the ab histograms of ``image`` and ``other``.

    ``other`` is an sRGB image (any size: the histograms are normalised) or an already computed
    (AB_BINS, AB_BINS) histogram, e.g. ``ab_histogram(palette_colours, weights=shares)``.
    """
    other = np.asarray(other)
    if other.shape == (AB_BINS, AB_BINS):
        other_hist = other
    else:
        other_hist = ab_histogram(other, min_chroma=min_chroma)
    return histogram_intersection(ab_histogram(image, min_chroma=min_chroma), other_hist)
