import math

import numpy as np
import pytest

from exemplar.evaluation import metrics
from exemplar.core.errors import ExemplarError


def _solid(rgb, h=16, w=16):
    return np.broadcast_to(np.asarray(rgb, np.float32), (h, w, 3)).copy()


def _noisy_pair(amplitude=0.1):
    """Truth 0.5 everywhere; output off by +/- amplitude in a checkerboard: MSE = amplitude^2."""
    truth = _solid([0.5, 0.5, 0.5], 20, 20)
    sign = np.where((np.indices((20, 20)).sum(0) % 2) == 0, 1.0, -1.0)[..., None]
    return truth + amplitude * sign.astype(np.float32), truth


def test_psnr_identical_is_capped_or_inf():
    image = np.random.default_rng(0).random((12, 10, 3)).astype(np.float32)
    assert metrics.psnr_rgb(image, image) == metrics.PSNR_CAP_DB
    assert metrics.psnr_rgb(image, image, cap_db=math.inf) == math.inf


def test_psnr_known_noise():
    output, truth = _noisy_pair(0.1)  # MSE = 0.01 -> 10 log10(1 / 0.01) = 20 dB
    assert metrics.psnr_rgb(output, truth) == pytest.approx(20.0, abs=1e-3)
    output, truth = _noisy_pair(0.01)  # MSE = 1e-4 -> 40 dB
    assert metrics.psnr_rgb(output, truth) == pytest.approx(40.0, abs=1e-2)


def test_uint8_and_float_agree():
    rng = np.random.default_rng(1)
    a8 = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    b8 = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    af, bf = a8 / np.float32(255), b8 / np.float32(255)
    assert metrics.psnr_rgb(a8, b8) == pytest.approx(metrics.psnr_rgb(af, bf), abs=1e-4)
    assert metrics.ssim_rgb(a8, b8) == pytest.approx(metrics.ssim_rgb(af, bf), abs=1e-5)
    assert metrics.colourfulness(a8) == pytest.approx(metrics.colourfulness(af), rel=1e-5)


def test_ssim_identical_one_and_noise_lower():
    image = np.random.default_rng(2).random((24, 24, 3)).astype(np.float32)
    assert metrics.ssim_rgb(image, image) == pytest.approx(1.0)
    noisy = np.clip(image + np.random.default_rng(3).normal(0, 0.2, image.shape), 0, 1).astype(np.float32)
    assert metrics.ssim_rgb(noisy, image) < 0.9
    # A small image still works (the window shrinks to fit).
    assert metrics.ssim_rgb(image[:5, :5], image[:5, :5]) == pytest.approx(1.0)


def test_shape_mismatch_raises():
    with pytest.raises(ExemplarError, match="shape"):
        metrics.psnr_rgb(np.zeros((8, 8, 3)), np.zeros((8, 9, 3)))
    with pytest.raises(ExemplarError, match="shape"):
        metrics.ssim_rgb(np.zeros((8, 8, 3)), np.zeros((9, 8, 3)))
    with pytest.raises(ExemplarError, match="RGB"):
        metrics.colourfulness(np.zeros((8, 8)))


def test_colourfulness_grey_zero_and_saturated_higher():
    ramp = np.linspace(0, 1, 32, dtype=np.float32)
    grey = np.repeat(np.tile(ramp, (16, 1))[..., None], 3, axis=-1)
    assert metrics.colourfulness(grey) == pytest.approx(0.0, abs=1e-6)
    halves = _solid([0.6, 0.6, 0.6])
    halves[:, :8] = [1.0, 0.0, 0.0]
    halves[:, 8:] = [0.0, 0.0, 1.0]
    muted = 0.5 + 0.2 * (halves - 0.5)  # same hues, less saturated
    assert metrics.colourfulness(halves) > metrics.colourfulness(muted) > 10.0
    # Solid pure red: std 0, mean term 0.3 * hypot(R-G, (R+G)/2-B) = 0.3 * hypot(255, 127.5).
    assert metrics.colourfulness(_solid([1, 0, 0])) == pytest.approx(0.3 * math.hypot(255, 127.5), rel=1e-5)


def test_histogram_intersection_identical_disjoint_partial():
    red, blue = _solid([0.9, 0.1, 0.1]), _solid([0.1, 0.2, 0.9])
    assert metrics.ab_histogram_intersection(red, red) == pytest.approx(1.0)
    assert metrics.ab_histogram_intersection(red, blue) == pytest.approx(0.0)
    half = red.copy()
    half[8:] = blue[8:]
    assert metrics.ab_histogram_intersection(half, red) == pytest.approx(0.5)
    # Histograms are normalised, so sizes may differ.
    assert metrics.ab_histogram_intersection(red, _solid([0.9, 0.1, 0.1], 5, 7)) == pytest.approx(1.0)
    hist = metrics.ab_histogram(half)
    assert hist.shape == (metrics.AB_BINS, metrics.AB_BINS)
    assert hist.sum() == pytest.approx(1.0)


def test_histogram_min_chroma_ignores_greys():
    grey, red = _solid([0.5, 0.5, 0.5]), _solid([0.9, 0.1, 0.1])
    mostly_grey = grey.copy()
    mostly_grey[:2] = red[:2]  # 1/8 red
    assert metrics.ab_histogram_intersection(mostly_grey, red) == pytest.approx(0.125)
    assert metrics.ab_histogram_intersection(mostly_grey, red, min_chroma=5.0) == pytest.approx(1.0)
    assert metrics.ab_histogram(grey, min_chroma=5.0).sum() == 0.0
    assert metrics.ab_histogram_intersection(grey, red, min_chroma=5.0) == 0.0
    assert metrics.ab_histogram_intersection(grey, grey, min_chroma=5.0) == 1.0


def test_histogram_against_palette_histogram():
    palette = np.array([[0.9, 0.1, 0.1], [0.1, 0.2, 0.9]], np.float32)  # (K, 3) colours
    image = _solid([0.9, 0.1, 0.1])
    image[12:] = palette[1]  # 3/4 red, 1/4 blue
    exact = metrics.ab_histogram(palette, weights=[0.75, 0.25])
    assert metrics.ab_histogram_intersection(image, exact) == pytest.approx(1.0)
    even = metrics.ab_histogram(palette)  # equal shares
    assert metrics.ab_histogram_intersection(image, even) == pytest.approx(0.75)
    with pytest.raises(ExemplarError, match="weights"):
        metrics.ab_histogram(palette, weights=[1.0])
