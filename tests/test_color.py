"""Colour science: numpy and TensorFlow agree with each other and with scikit-image."""

import numpy as np
import pytest
from skimage.color import rgb2lab

from exemplar.core import color
@pytest.fixture
def random_rgb():
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (32, 48, 3)) / 255.0).astype(np.float32)


def test_numpy_lab_matches_scikit_image(random_rgb):
    np.testing.assert_allclose(color.rgb_to_lab(random_rgb), rgb2lab(random_rgb), atol=0.01)


def test_tensorflow_lab_matches_numpy_both_ways(random_rgb):
    lab = color.rgb_to_lab(random_rgb)
    np.testing.assert_allclose(color.tf_rgb_to_lab(random_rgb).numpy(), lab, atol=1e-3)
    np.testing.assert_allclose(color.tf_lab_to_rgb(lab).numpy(), random_rgb, atol=1e-4)
    np.testing.assert_allclose(color.lab_to_rgb(lab), random_rgb, atol=1e-4)


def test_tensorflow_lab_is_differentiable(random_rgb):
    import tensorflow as tf

    rgb = tf.Variable(random_rgb)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(color.tf_rgb_to_lab(rgb)[..., 1:] ** 2)
    grad = tape.gradient(loss, rgb).numpy()
    assert np.isfinite(grad).all() and np.abs(grad).max() > 0


def test_known_colours():
    white_black_red = np.array([[[1, 1, 1], [0, 0, 0], [1, 0, 0]]], np.float32)
    lab = color.rgb_to_lab(white_black_red)[0]
    np.testing.assert_allclose(lab[0], [100, 0, 0], atol=0.05)
    np.testing.assert_allclose(lab[1], [0, 0, 0], atol=0.05)
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.1)  # sRGB red, D65


@pytest.mark.parametrize("levels", [255, 65535])
def test_fast_luminance_is_exact_for_8_and_16_bit(levels):
    rng = np.random.default_rng(1)
    rgb = (rng.integers(0, levels + 1, (40, 30, 3)) / levels).astype(np.float32)
    np.testing.assert_allclose(color.rgb_to_l_fast(rgb), color.rgb_to_l(rgb), atol=1e-4)
    np.testing.assert_allclose(color.rgb_to_l(rgb), color.rgb_to_lab(rgb)[..., 0], atol=1e-4)


def test_compose_keeps_luminance_even_out_of_gamut():
    rng = np.random.default_rng(2)
    l = rng.uniform(0, 100, (60, 40)).astype(np.float32)
    ab = rng.uniform(-127, 127, (60, 40, 2)).astype(np.float32)  # mostly outside the sRGB gamut
    rgb = color.lab_to_rgb_keep_l(l, ab)
    assert rgb.min() >= 0 and rgb.max() <= 1
    assert np.abs(color.rgb_to_lab(rgb)[..., 0] - l).max() < 0.1
    eight_bit = np.round(rgb * 255) / 255
    assert np.abs(color.rgb_to_lab(eight_bit)[..., 0] - l).max() < 0.5  # 8-bit rounding
    # plain clipping, for contrast, moves L by several units on these colours
    assert np.abs(color.rgb_to_lab(color.lab_to_rgb(np.dstack([l, ab])))[..., 0] - l).max() > 2


def test_out_of_gamut_chroma_is_lowered_to_the_gamut_edge_not_below():
    rng = np.random.default_rng(4)
    l = rng.uniform(3, 97, (80, 50)).astype(np.float32)
    ab = rng.uniform(-127, 127, (80, 50, 2)).astype(np.float32)
    outside = np.any((color.lab_to_linear_rgb(np.dstack([l, ab])) < 0) | (color.lab_to_linear_rgb(np.dstack([l, ab])) > 1), -1)
    fitted = color.fit_ab_in_gamut(l, ab)
    linear = color.lab_to_linear_rgb(np.dstack([l, fitted]))
    assert linear.min() > -1e-3 and linear.max() < 1 + 1e-3  # every colour shown as it is
    np.testing.assert_array_equal(fitted[~outside], ab[~outside])  # colours inside are left alone
    hue_kept = np.sum(fitted * ab, -1) / (np.linalg.norm(fitted, axis=-1) * np.linalg.norm(ab, axis=-1) + 1e-6)
    assert hue_kept[outside].min() > 0.999  # only chroma is lowered, the hue stays
    more = color.lab_to_linear_rgb(np.dstack([l, fitted * 1.03]))[outside]
    assert np.mean(np.any((more < 0) | (more > 1), -1)) > 0.97  # and no further than needed: 3% more is outside


def test_compose_leaves_in_gamut_colours_alone(random_rgb):
    lab = color.rgb_to_lab(random_rgb)
    np.testing.assert_allclose(color.lab_to_rgb_keep_l(lab[..., 0], lab[..., 1:]), random_rgb, atol=2e-4)


def test_grey_from_luminance_and_normalisation_round_trip():
    l = np.linspace(0, 100, 101, dtype=np.float32)[None]
    grey = color.l_to_grey_rgb(l)
    np.testing.assert_allclose(color.rgb_to_l(np.repeat(grey[..., None], 3, -1)), l, atol=1e-3)
    assert color.normalize_l(np.float32(0)) == -1 and color.normalize_l(np.float32(100)) == 1
    np.testing.assert_allclose(color.denormalize_ab(color.normalize_ab(np.float32(-73.0))), -73.0)
