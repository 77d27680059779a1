"""exemplar.model.ab_bins: the quantized ab space, soft encoding, annealed mean and class rebalancing."""

import numpy as np
import pytest

from exemplar.model.ab_bins import AbBins
from exemplar.core.color import lab_to_rgb


@pytest.fixture(scope="module")
def bins():
    return AbBins()


def test_bins_are_a_grid_of_in_gamut_colours(bins):
    assert bins.centres.shape == (bins.count, 2) and bins.count == 258
    np.testing.assert_array_equal(bins.centres % 10.0, 0.0)  # centres on the 10-unit grid
    assert len({tuple(c) for c in bins.centres}) == bins.count
    assert [0.0, 0.0] in bins.centres.tolist()  # grey is a bin
    # Saturated sRGB primaries fall in (the bin nearest each is less than a grid cell away)...
    primaries = np.eye(3, dtype=np.float32)[None]  # (1, 3, 3) red, green, blue
    from exemplar.core.color import rgb_to_lab

    ab = rgb_to_lab(primaries)[0, :, 1:]
    nearest = np.min(np.linalg.norm(ab[:, None] - bins.centres[None], axis=-1), axis=1)
    assert np.all(nearest < 10.0), nearest
    # ...and the far corners of the ab square (no sRGB colour there) do not.
    assert [110.0, 110.0] not in bins.centres.tolist() and [-110.0, -110.0] not in bins.centres.tolist()


def test_soft_encoding_sums_to_one_and_peaks_at_the_nearest_bin(bins):
    rng = np.random.default_rng(0)
    ab = bins.centres[rng.integers(bins.count, size=200)] + rng.uniform(-4.9, 4.9, (200, 2)).astype(np.float32)
    encoded = np.asarray(bins.soft_encode(ab.reshape(10, 20, 2)))  # any leading shape
    assert encoded.shape == (10, 20, bins.count)
    encoded = encoded.reshape(200, bins.count)
    np.testing.assert_allclose(encoded.sum(-1), 1.0, atol=1e-5)
    assert np.all(encoded >= 0.0) and np.all((encoded > 1e-9).sum(-1) <= bins.neighbours)
    nearest = np.argmin(np.linalg.norm(ab[:, None] - bins.centres[None], axis=-1), axis=1)
    np.testing.assert_array_equal(np.argmax(encoded, -1), nearest)
    # A colour exactly on a centre keeps most of its mass there (Gaussian of sigma 5, grid 10).
    on_centre = np.asarray(bins.soft_encode(bins.centres[:5]))
    np.testing.assert_array_equal(np.argmax(on_centre, -1), np.arange(5))
    assert np.all(on_centre.max(-1) > 0.5)


def test_annealed_mean_of_a_one_hot_is_that_bins_colour(bins):
    one_hot = np.eye(bins.count, dtype=np.float32)[[0, 17, 100, bins.count - 1]]
    for temperature in (0.01, 0.38, 1.0):
        np.testing.assert_allclose(
            np.asarray(bins.annealed_mean(one_hot, temperature)), bins.centres[[0, 17, 100, bins.count - 1]], atol=1e-3
        )


def test_annealed_mean_at_t1_is_the_mean_and_lower_t_moves_to_the_mode(bins):
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.full(bins.count, 0.3), size=(3, 4)).astype(np.float32)  # (3, 4, Q)
    mean = np.asarray(bins.annealed_mean(probs, 1.0))
    assert mean.shape == (3, 4, 2)
    np.testing.assert_allclose(mean, probs @ bins.centres, atol=1e-3)
    mode = bins.centres[np.argmax(probs, -1)]
    cold = np.asarray(bins.annealed_mean(probs, 0.01))
    np.testing.assert_allclose(cold, mode, atol=0.5)  # within a twentieth of a grid cell
    middle = np.asarray(bins.annealed_mean(probs, 0.38))
    # Lower temperature: on average nearer the mode, and more saturated than the (greyish) mean.
    assert np.linalg.norm(middle - mode, axis=-1).mean() < np.linalg.norm(mean - mode, axis=-1).mean()
    assert np.linalg.norm(middle, axis=-1).mean() > np.linalg.norm(mean, axis=-1).mean()


def test_histogram_and_smoothing_keep_the_total(bins):
    rng = np.random.default_rng(2)
    ab = rng.normal([20.0, 30.0], 8.0, (500, 2)).astype(np.float32)
    histogram = bins.histogram(ab)
    assert histogram.shape == (bins.count,) and histogram.sum() == pytest.approx(1.0, abs=1e-5)
    assert bins.centres[np.argmax(histogram)].tolist() == [20.0, 30.0]
    # Weights select pixels: only the first 100 count.
    weights = np.zeros(500, np.float32)
    weights[:100] = 1.0
    np.testing.assert_allclose(bins.histogram(ab, weights), bins.histogram(ab[:100]), atol=1e-6)
    smooth = bins.smooth(histogram, 10.0)
    assert smooth.sum() == pytest.approx(1.0, abs=1e-5) and smooth.max() < histogram.max()


def test_rebalancing_weights_have_mean_one_and_favour_rare_colours(bins):
    rng = np.random.default_rng(3)
    # Mostly near-grey pixels with a few saturated ones: the usual photo statistics.
    ab = np.concatenate([rng.normal(0.0, 6.0, (5000, 2)), rng.normal([60.0, 40.0], 5.0, (100, 2))]).astype(np.float32)
    histogram = bins.histogram(ab)
    weights = bins.rebalancing_weights(histogram)
    assert weights.shape == (bins.count,) and weights.dtype == np.float32 and np.all(weights > 0)
    smooth = bins.smooth(histogram, 5.0)  # the distribution the weights are defined on
    assert float((smooth * weights).sum()) == pytest.approx(1.0, abs=1e-4)  # E_p[w] = 1
    grey = int(np.argmin(np.linalg.norm(bins.centres, axis=-1)))
    red = int(np.argmin(np.linalg.norm(bins.centres - [60.0, 40.0], axis=-1)))
    assert weights[grey] < 1.0 < weights[red] < weights.max()  # common < rare < unseen
    # Monotone: the rarer a bin under the smoothed distribution, the larger its weight.
    order = np.argsort(smooth)
    assert np.all(np.diff(weights[order]) <= 1e-5)
    # mix = 1 gives uniform weights (no rebalancing).
    np.testing.assert_allclose(bins.rebalancing_weights(histogram, mix=1.0), 1.0, rtol=1e-5)


def test_bin_centres_decode_to_valid_colours(bins):
    lab = np.concatenate([np.full((bins.count, 1), 60.0, np.float32), bins.centres], -1)[None]
    rgb = lab_to_rgb(lab)
    assert np.all(np.isfinite(rgb)) and rgb.min() >= 0.0 and rgb.max() <= 1.0


def test_soft_encoding_is_the_one_hot_sum_of_the_nearest_bins(bins):
    """The fast soft encoding (distances written out, k argmin passes, scatter) gives the very numbers
    of the direct one: top_k of the negated distances, their softmax, summed one-hot rows."""
    import keras

    rng = np.random.default_rng(3)
    ab = rng.uniform(-120.0, 120.0, (6, 40, 2)).astype(np.float32)
    ab[0] = 0.0  # grey: five bins at distances 0 and 10 exactly
    ab[1, :, 0], ab[1, :, 1] = 5.0, 0.0  # halfway between two centres: ties among the next ones
    ab[2] = np.round(ab[2] / 5.0) * 5.0
    centres = keras.ops.convert_to_tensor(bins.centres)
    distance2 = keras.ops.sum(keras.ops.square(ab[..., None, :] - centres), axis=-1)
    negative, index = keras.ops.top_k(-distance2, k=bins.neighbours)
    weights = keras.ops.softmax(negative / (2.0 * bins.sigma**2), axis=-1)
    direct = keras.ops.sum(keras.ops.one_hot(index, bins.count, dtype="float32") * weights[..., None], axis=-2)
    np.testing.assert_array_equal(np.asarray(bins.soft_encode(ab)), np.asarray(direct))
    np.testing.assert_array_equal(np.asarray(bins.soft_encode(ab[0, 0])), np.asarray(direct)[0, 0])  # one pixel


def test_window_search_finds_the_nearest_bins_of_every_bin(bins):
    """The soft encoding searches the 5 x 5 grid cells around a colour (AbBins._nearest_in_window):
    for photo colours that is exact (the same bins, order, ties and values as searching all Q), and
    a colour it cannot vouch for (far outside the gamut) makes the whole call search every bin."""
    import keras
    import tensorflow as tf

    from exemplar.model.ab_bins import _nearest

    rng = np.random.default_rng(4)
    ab = np.concatenate([
        bins.centres,  # ties: four bins at exactly 10 units
        bins.centres + 5.0,  # halfway between cells: ties at every distance
        bins.centres[rng.integers(bins.count, size=3000)] + rng.uniform(-6.0, 6.0, (3000, 2)),
        np.round(bins.centres[rng.integers(bins.count, size=1000)] + rng.uniform(-6.0, 6.0, (1000, 2))),
    ]).astype(np.float32)
    ab = ab[np.min(np.linalg.norm(ab[:, None] - bins.centres[None], axis=-1), axis=1) < 8.0]  # photo-like colours
    centres = keras.ops.convert_to_tensor(bins.centres)
    distance2 = keras.ops.square(ab[:, :1] - centres[:, 0]) + keras.ops.square(ab[:, 1:] - centres[:, 1])
    every_value, every_index = _nearest(distance2, bins.neighbours)
    value, index, exact = bins._nearest_in_window(tf.constant(ab))
    exact = np.asarray(exact)
    assert exact.mean() > 0.95  # the rest: next to a lone bin on the gamut's rim, fewer than 5 within 24 units
    np.testing.assert_array_equal(np.asarray(index)[exact], np.asarray(every_index)[exact])
    np.testing.assert_array_equal(np.asarray(value)[exact], np.asarray(every_value)[exact])
    # One colour far off the grid: not exact, and the encoding (all of it) equals the direct form's.
    far = np.concatenate([ab[:50], [[300.0, -300.0]]]).astype(np.float32)
    assert not np.asarray(bins._nearest_in_window(tf.constant(far))[2])[-1]
    distance2 = keras.ops.sum(keras.ops.square(far[:, None, :] - centres), axis=-1)
    negative, nearest = keras.ops.top_k(-distance2, k=bins.neighbours)
    weights = keras.ops.softmax(negative / (2.0 * bins.sigma**2), axis=-1)
    direct = keras.ops.sum(keras.ops.one_hot(nearest, bins.count, dtype="float32") * weights[..., None], axis=-2)
    np.testing.assert_array_equal(np.asarray(bins.soft_encode(far)), np.asarray(direct))
