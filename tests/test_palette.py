"""Palettes: parsing, dominant colours of an image, the network's histogram, palette colorization."""

import numpy as np
import pytest

from exemplar.core.color import rgb_to_l, rgb_to_lab
from exemplar.core.errors import ExemplarError, ImageError
from exemplar.evaluation.metrics import histogram_intersection
from exemplar.methods.palette import (BUILTIN, HIST_BINS, Palette, palette_from_image, parse_palette,
                              soft_ab_histogram, with_mode)


def _textured_grey(height=64, width=96, seed=0):
    """(H, W) float32 grey in [0, 1]: a dark-to-light ramp with blobs and noise (photo-like tones)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    grey = 0.1 + 0.8 * x / (width - 1) + 0.08 * np.sin(y / 3.0) * np.cos(x / 5.0)
    return np.clip(grey + rng.normal(0, 0.02, grey.shape), 0, 1).astype(np.float32)


# --------------------------------------------------------------------------- parsing


def test_parse_hex_colours_with_and_without_weights():
    palette = parse_palette("#FF0000:3, 00ff00  #0000ff:1")
    assert len(palette.lab) == 3
    np.testing.assert_allclose(palette.weights, [0.6, 0.2, 0.2], atol=1e-6)
    np.testing.assert_allclose(palette.lab[0], [53.24, 80.09, 67.20], atol=0.05)  # CIE Lab of sRGB red
    assert palette.hex() == ["#ff0000", "#00ff00", "#0000ff"]
    assert palette.name == "ff0000-00ff00-0000ff"


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_builtins_parse_and_span_the_tones(name):
    palette = parse_palette(name.upper())  # names are case-insensitive
    assert palette.name == name
    assert len(palette.lab) >= 4
    assert np.ptp(palette.lab[:, 0]) > 45  # dark and light colours, so every tone gets one
    assert palette.weights.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("#ff0000,#12345", "bad palette colour '#12345' in '#ff0000,#12345': expected #RRGGBB[:weight]"),
        ("#ff0000 #gg0000", "bad palette colour '#gg0000'"),
        ("#ff0000:0", "bad weight in '#ff0000:0'"),
        ("#ff0000:-2 #00ff00", "bad weight in '#ff0000:-2'"),
        ("#ff0000:abc", "bad weight in '#ff0000:abc'"),
        ("#ff0000:inf", "bad weight"),
        ("", "empty palette"),
    ],
)
def test_bad_palettes_name_the_bad_token(text, expected):
    with pytest.raises(ExemplarError) as error:
        parse_palette(text)
    assert expected in str(error.value)


def test_unknown_name_lists_the_builtins():
    with pytest.raises(ExemplarError) as error:
        parse_palette("sepiaa")
    message = str(error.value)
    assert "'sepiaa'" in message
    assert all(name in message for name in BUILTIN)


def test_too_many_colours_and_bad_arrays_are_refused():
    with pytest.raises(ExemplarError, match="at most"):
        parse_palette(" ".join(["#102030"] * 40))
    with pytest.raises(ExemplarError, match="positive"):
        Palette(lab=np.zeros((2, 3)), weights=[1.0, 0.0], name="x")


# --------------------------------------------------------------------------- histogram


def test_histogram_puts_a_bin_centre_colour_in_its_bin():
    # ab = (44, -22) is exactly on the centres (0.4, -0.2) -> bins (14, 8)
    palette = Palette(lab=[[50.0, 44.0, -22.0], [60.0, 0.0, 0.0]], weights=[3.0, 1.0], name="t")
    histogram = palette.ab_histogram()
    assert histogram.shape == (HIST_BINS * HIST_BINS,)
    assert histogram[14 * HIST_BINS + 8] == pytest.approx(0.75)
    assert histogram[10 * HIST_BINS + 10] == pytest.approx(0.25)
    assert histogram.sum() == pytest.approx(1.0)


def test_histogram_matches_the_network_layer():
    from exemplar.model.soft_ab_histogram import SoftAbHistogram

    rng = np.random.default_rng(3)
    ab = rng.uniform(-120, 120, (5, 2)).astype(np.float32)  # some outside [-110, 110]: clipped
    weights = rng.uniform(0.1, 1.0, 5).astype(np.float32)
    for sigma in (None, 0.08):
        layer = SoftAbHistogram(bins=HIST_BINS, sigma=sigma)
        expected = np.asarray(layer(ab[None, None] / 110.0, weights[None, None]))[0]
        np.testing.assert_allclose(soft_ab_histogram(ab, weights, sigma=sigma), expected, atol=1e-5)


# --------------------------------------------------------------------------- palette from an image


def test_palette_from_image_finds_both_colours(tmp_path):
    import cv2

    rng = np.random.default_rng(0)
    rgb = np.zeros((60, 90, 3), np.float32)
    rgb[:, :60] = [0.80, 0.25, 0.20]  # 2/3 brick red
    rgb[:, 60:] = [0.15, 0.45, 0.60]  # 1/3 steel blue
    rgb[:10] = 0.5  # a grey band, left out (not chromatic)
    rgb = np.clip(rgb + rng.normal(0, 0.01, rgb.shape), 0, 1).astype(np.float32)
    path = tmp_path / "two.png"
    cv2.imwrite(str(path), np.round(rgb[..., ::-1] * 255).astype(np.uint8))

    palette = palette_from_image(path, k=2)
    assert palette.name == "from-two"
    expected = rgb_to_lab(np.array([[0.80, 0.25, 0.20], [0.15, 0.45, 0.60]], np.float32))
    for found, want in zip(palette.lab, expected):  # largest cluster first
        assert np.linalg.norm(found - want) < 3.0
    np.testing.assert_allclose(palette.weights, [2 / 3, 1 / 3], atol=0.02)


def test_palette_from_a_grey_image_is_refused(photo_grey):
    with pytest.raises(ImageError, match="no colour"):
        palette_from_image(photo_grey)
    with pytest.raises(ExemplarError, match="between 1 and"):
        palette_from_image(photo_grey, k=0)


# --------------------------------------------------------------------------- assignment


def test_assignment_is_luminance_aware_and_follows_the_weights():
    palette = parse_palette("#3a1f0f:1 #2a6f97:2 #f2c46d:1")  # dark brown, mid blue, light yellow
    l = rgb_to_l(np.repeat(_textured_grey()[..., None], 3, axis=2))
    ab = with_mode(palette, "strict").assign_ab(l, softness=0.005, cell=1)  # near-hard edges: shares countable
    nearest = np.argmin(np.linalg.norm(ab[..., None, :] - palette.lab[None, None, :, 1:], axis=-1), axis=-1)
    shares = np.bincount(nearest.ravel(), minlength=3) / nearest.size
    np.testing.assert_allclose(shares, palette.weights, atol=0.05)
    dark, light = l < np.quantile(l, 0.1), l > np.quantile(l, 0.9)
    assert np.all(nearest[dark] == 0) and np.all(nearest[light] == 2)


def test_colours_of_equal_lightness_are_not_averaged_to_grey():
    red, green = [50.0, 60.0, 40.0], [50.0, -50.0, 40.0]  # same L, opposite a
    palette = Palette(lab=[red, green], weights=[1, 1], name="t")
    ab = palette.assign_ab(np.linspace(10, 90, 64 * 64, dtype=np.float32).reshape(64, 64))
    assert np.mean(np.abs(ab[..., 0]) > 40) > 0.7  # most pixels keep one colour's full a (a blend where they meet)


@pytest.fixture(scope="module")
def colorizer():
    from exemplar.pipeline.colorizer import Colorizer

    return Colorizer(size=64)


def test_palette_colorization_follows_the_palette_and_keeps_l(colorizer):
    # sepia: a palette every region can plausibly take. The semantic look asks the network's automatic
    # colours what a region is, and tones down colours it finds implausible there (autumn's reds on
    # this abstract ramp: intersection 0.35 with that, 0.46 on the palette-conditioned prior alone).
    grey = _textured_grey(80, 120)
    palette = parse_palette("sepia")
    result = colorizer.run(grey, palette=palette)
    target = palette.ab_histogram()
    before = histogram_intersection(soft_ab_histogram(rgb_to_lab(np.repeat(grey[..., None], 3, axis=2))[..., 1:]), target)
    after = histogram_intersection(soft_ab_histogram(rgb_to_lab(result.rgb)[..., 1:]), target)
    assert after > before + 0.4
    l_in = rgb_to_l(np.repeat(grey[..., None], 3, axis=2))
    assert np.max(np.abs(rgb_to_l(result.rgb) - l_in)) < 0.5


def test_palette_text_and_references_together_are_refused(colorizer, photo_rgb):
    grey = _textured_grey()
    np.testing.assert_allclose(colorizer.colorize(grey, palette="sepia"), colorizer.colorize(grey, palette=parse_palette("sepia")))
    with pytest.raises(ExemplarError, match="not both"):
        colorizer.run(grey, [photo_rgb], palette="sepia")
    from exemplar.pipeline.colorizer import Colorizer

    with pytest.raises(ExemplarError, match="or a palette"):  # neither: automatic, which match cannot do
        Colorizer(method="match", size=64).run(grey)
