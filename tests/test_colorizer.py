"""The whole job through the Python API: size, luminance, alpha, bit depth, warnings, errors."""

import numpy as np
import pytest

import exemplar
from exemplar.core.color import rgb_to_lab
from exemplar.pipeline.colorizer import Colorizer
from exemplar.core.errors import ExemplarWarning
from exemplar.core.errors import ExemplarError, ImageError


@pytest.fixture(scope="module")
def colorizer():
    return Colorizer(size=64)


@pytest.fixture
def reference(photo_rgb):
    return photo_rgb[:, ::-1]


def _l(image):
    image = image.astype(np.float32) / (255.0 if image.dtype == np.uint8 else 65535.0)
    return rgb_to_lab(image[..., :3])[..., 0]


def test_output_keeps_size_and_luminance(colorizer, photo_grey, reference):
    grey8 = np.round(photo_grey * 255).astype(np.uint8)  # (48, 64)
    out = exemplar.colorize(grey8, reference, colorizer=colorizer)
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8
    target_l = _l(np.repeat(grey8[..., None], 3, axis=-1))
    assert np.abs(_l(out) - target_l).max() < 0.6  # 8-bit rounding of the output
    assert np.hypot(*np.moveaxis(rgb_to_lab(out / 255.0)[..., 1:], -1, 0)).mean() > 3  # it has colour


def test_sixteen_bit_and_alpha_are_kept(colorizer, photo_grey, reference):
    grey16 = np.round(photo_grey * 65535).astype(np.uint16)
    alpha = np.linspace(0, 65535, 64, dtype=np.uint16)[None].repeat(48, axis=0)
    rgba = np.dstack([grey16, grey16, grey16, alpha])
    out = exemplar.colorize(rgba, reference, colorizer=colorizer)
    assert out.shape == (48, 64, 4) and out.dtype == np.uint16
    np.testing.assert_array_equal(out[..., 3], alpha)


def test_colour_target_warns_and_uses_its_luminance(colorizer, photo_rgb, reference):
    with pytest.warns(ExemplarWarning, match="only its luminance"):
        out = colorizer.colorize(photo_rgb, [reference])
    assert np.abs(rgb_to_lab(out)[..., 0] - rgb_to_lab(photo_rgb)[..., 0]).max() < 0.1


def test_strength_zero_gives_the_grey_input(colorizer, photo_grey, reference):
    out = colorizer.colorize(photo_grey, [reference], strength=0.0)
    assert np.abs(rgb_to_lab(out)[..., 1:]).max() < 0.5


def test_grey_reference_is_refused(colorizer, photo_grey):
    with pytest.raises(ImageError, match="reference has no colour"):
        colorizer.colorize(photo_grey, [photo_grey])


def test_bad_options_are_refused(colorizer, photo_grey, reference):
    with pytest.raises(ExemplarError, match="strength"):
        colorizer.colorize(photo_grey, [reference], strength=2.0)
    with pytest.raises(ExemplarError, match="not both"):
        colorizer.colorize(photo_grey, [reference], palette="sepia")
    with pytest.raises(ExemplarError, match="unknown method"):
        Colorizer(method="magic")
    with pytest.raises(ExemplarError, match="too small"):
        Colorizer(size=32)
    with pytest.raises(ExemplarError, match="vividness"):
        Colorizer(vividness=1.0)


def test_no_reference_and_no_palette_is_automatic_colorization(colorizer, photo_grey):
    grey8 = np.round(photo_grey * 255).astype(np.uint8)
    out = exemplar.colorize(grey8, colorizer=colorizer)  # the shipped net, on its own
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8
    assert np.abs(_l(out) - _l(np.repeat(grey8[..., None], 3, axis=-1))).max() < 0.6
    assert np.hypot(*np.moveaxis(rgb_to_lab(out / 255.0)[..., 1:], -1, 0)).mean() > 3  # it has colour
    assert np.array_equal(colorizer.colorize(photo_grey, []), colorizer.colorize(photo_grey))


def test_palette_through_the_python_api(colorizer, photo_grey):
    out = exemplar.colorize(photo_grey, palette="#c0392b,#2980b9", colorizer=colorizer)
    ab = rgb_to_lab(out / 255.0)[..., 1:]
    assert out.shape == (48, 64, 3) and np.hypot(ab[..., 0], ab[..., 1]).mean() > 10
