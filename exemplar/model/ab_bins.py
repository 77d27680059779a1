"""Quantized ab colour space: colour as a distribution over bins (Zhang, Isola and Efros 2016).

Regressing ab to the truth pulls an ambiguous region (a car that may be red or blue) towards the
mean of its possible colours: brown-grey. Predicting a distribution over quantized ab keeps the
modes apart, and decoding with the *annealed mean* picks a vivid one without the spatial noise of
the mode. Conventions, as in Zhang et al.:

- bins: centres on a grid of 10 ab units over [-110, 110]^2, kept where the colour is in the sRGB
  gamut for some L in [0, 100] (``AbBins().count`` is about 300, Zhang's "313" for their data);
- soft encoding of a truth ab: Gaussian weights (sigma 5 ab units) on its 5 nearest bins;
- class rebalancing: weight per bin ~ 1 / ((1 - lam) * p_smooth + lam / Q), lam = 0.5, scaled
  so that the expected weight under p_smooth is 1 (rare, saturated colours count more);
- annealed mean: softmax(log p / T) then the expectation of the bin centres; T = 1 is the mean
  (safe, dull), T -> 0 the mode (vivid, patchy); Zhang's T = 0.38 sits between.

Written with keras.ops so the same code runs in numpy-fed inference, tf.data and the losses.
All ab here are in Lab units (about [-110, 110]); callers convert from ab/110 themselves.
"""

import functools

import keras
import numpy as np

GRID = 10.0  # ab units between bin centres
SIGMA = 5.0  # soft-encoding Gaussian width, ab units
NEIGHBOURS = 5  # bins that share a pixel's mass in the soft encoding
DEFAULT_TEMPERATURE = 0.38  # annealed-mean temperature (the vividness default)
WINDOW = 2  # soft encoding: grid cells searched on each side of a pixel's own cell (AbBins._nearest_in_window)


@functools.lru_cache(maxsize=None)
def in_gamut_centres(grid=GRID):
    """(Q, 2) float32 ab centres of the grid cells holding an sRGB colour for some L in [1, 99].

    A cell counts when its centre or a point near its edges (+-0.45 grid) is in gamut, as Zhang
    et al. keep every cell their data's colours fall in: the centre-only rule would drop the
    most saturated colours of each hue.
    """
    from exemplar.core.color import AB_SCALE, lab_to_linear_rgb

    axis = np.arange(-AB_SCALE, AB_SCALE + 1e-6, grid, dtype=np.float32)  # the ab extent the nets see as [-1, 1]
    a, b = np.meshgrid(axis, axis, indexing="ij")
    centres = np.stack([a.ravel(), b.ravel()], -1)  # (G, 2), a major
    offsets = np.array([(da, db) for da in (-0.45, 0.0, 0.45) for db in (-0.45, 0.0, 0.45)], np.float32) * grid
    points = (centres[:, None, :] + offsets[None]).reshape(-1, 2)  # (G * 9, 2)
    lightness = np.linspace(1.0, 99.0, 99, dtype=np.float32)
    lab = np.concatenate(
        [np.repeat(lightness[:, None, None], len(points), 1), np.broadcast_to(points, (len(lightness),) + points.shape)],
        -1,
    )  # (99, G * 9, 3)
    linear = lab_to_linear_rgb(lab)
    tolerance = 1e-3
    inside = np.all((linear >= -tolerance) & (linear <= 1.0 + tolerance), axis=-1).any(axis=0)  # (G * 9,)
    inside = inside.reshape(len(centres), len(offsets)).any(axis=1)  # (G,)
    return centres[inside].astype(np.float32)


def _nearest(distance2, k):
    """(N, Q) distances -> (-distance, index) (N, k) of the k nearest, exactly as ``top_k(-distance2, k)``.

    k passes of argmin, each hiding the bin it found behind +inf: the same bins in the same order
    (nearest first, the lower index first among equal distances, as top_k and argmin both break
    ties) and the same values, at about half the cost of TensorFlow's CPU top_k on rows of ~300.
    """
    count = keras.ops.shape(distance2)[-1]
    values, indices = [], []
    for i in range(k):
        index = keras.ops.argmin(distance2, axis=-1)  # (N,)
        values.append(-keras.ops.min(distance2, axis=-1))
        indices.append(index)
        if i < k - 1:
            hide = keras.ops.one_hot(index, count, dtype=distance2.dtype)  # (N, Q)
            distance2 = keras.ops.where(hide > 0, float("inf"), distance2)
    return keras.ops.stack(values, axis=-1), keras.ops.cast(keras.ops.stack(indices, axis=-1), "int32")


class AbBins:
    """The bin set: centres, soft encoding, rebalancing weights and annealed-mean decoding."""

    def __init__(self, grid=GRID, sigma=SIGMA, neighbours=NEIGHBOURS):
        self.grid = grid
        self.sigma = sigma
        self.neighbours = neighbours
        self.centres = in_gamut_centres(grid)  # (Q, 2) ab units

    @property
    def count(self):
        return len(self.centres)

    def soft_encode(self, ab):
        """(..., 2) ab (Lab units) -> (..., Q) float32 distribution over the bins, summing to 1."""
        ab = keras.ops.cast(ab, "float32")
        lead = keras.ops.shape(ab)[:-1]
        ab = keras.ops.reshape(ab, (-1, 2))  # (N, 2)
        centres = keras.ops.convert_to_tensor(self.centres)
        negative, index, exact = self._nearest_in_window(ab)  # (N, k): the nearest bins, if exact

        def every_bin():
            # (a - ca)^2 + (b - cb)^2 written out: the same sum as reducing a last axis of 2, which
            # TensorFlow's CPU kernels do an order of magnitude slower than one elementwise add.
            distance2 = keras.ops.square(ab[:, :1] - centres[:, 0]) + keras.ops.square(ab[:, 1:] - centres[:, 1])
            return _nearest(distance2, self.neighbours)  # (N, Q) -> (N, k)

        negative, index = keras.ops.cond(keras.ops.all(exact), lambda: (negative, index), every_bin)
        weights = keras.ops.softmax(negative / (2.0 * self.sigma**2), axis=-1)  # Gaussian, normalised
        # Each pixel's k weights scattered into a zero row: the same numbers as summing k one-hot
        # rows times the weights (the k indices are distinct), without that (N, k, Q) intermediate,
        # which made the soft encoding one of the dearest parts of a training step.
        count = keras.ops.shape(ab)[0]
        rows = keras.ops.repeat(keras.ops.arange(count, dtype="int32"), self.neighbours)  # (N k,)
        cells = keras.ops.stack([rows, keras.ops.cast(keras.ops.reshape(index, (-1,)), "int32")], axis=-1)
        encoded = keras.ops.scatter(cells, keras.ops.reshape(weights, (-1,)), (count, self.count))  # (N, Q)
        return keras.ops.reshape(encoded, tuple(lead) + (self.count,))

    @functools.cached_property
    def _window(self):
        """Lookup of the 5 x 5 grid cells around any cell: (padded table (G+4)^2 of bin index, Q where
        no bin; (25,) flat offsets, a major; grid cells per row G + 4; first grid value)."""
        from exemplar.core.color import AB_SCALE

        axis = np.arange(-AB_SCALE, AB_SCALE + 1e-6, self.grid, dtype=np.float32)
        size = len(axis) + 2 * WINDOW
        cells = np.rint((self.centres - axis[0]) / self.grid).astype(np.int64) + WINDOW  # (Q, 2) padded (i, j)
        table = np.full((size, size), self.count, np.int32)
        table[cells[:, 0], cells[:, 1]] = np.arange(self.count, dtype=np.int32)
        offsets = np.array([di * size + dj for di in range(-WINDOW, WINDOW + 1) for dj in range(-WINDOW, WINDOW + 1)],
                           np.int32)
        return table.ravel(), offsets, len(axis), float(axis[0])

    def _nearest_in_window(self, ab):
        """(N, 2) ab -> (-distance, index) (N, k) as ``_nearest`` over every bin, and (N,) exact.

        Only the bins of the 5 x 5 grid cells around each pixel's own cell are searched (25 instead
        of Q = 258 distances): the same bins in the same order (the window lists them by bin index)
        with the same values, wherever ``exact``: the k-th distance is below (2.4 grid)^2, closer
        than any bin outside the window can be (2.5 grid at least). Every photo's colour is (the
        farthest 5th bin of 3,000 cached photos is 17.5 ab units away); one that is not makes
        ``soft_encode`` search every bin.
        """
        table, offsets, cells, first = self._window
        row = keras.ops.cast(keras.ops.clip(keras.ops.round((ab - first) / self.grid), 0, cells - 1), "int32")  # (N, 2)
        size = cells + 2 * WINDOW
        flat = (row[:, :1] + WINDOW) * size + row[:, 1:] + WINDOW + keras.ops.convert_to_tensor(offsets)  # (N, 25)
        index = keras.ops.take(keras.ops.convert_to_tensor(table), flat)  # (N, 25) bin index, Q = none
        centres = keras.ops.convert_to_tensor(np.concatenate([self.centres, np.zeros((1, 2), np.float32)]))
        distance2 = (keras.ops.square(ab[:, :1] - keras.ops.take(centres[:, 0], index))
                     + keras.ops.square(ab[:, 1:] - keras.ops.take(centres[:, 1], index)))  # as in soft_encode
        distance2 = keras.ops.where(index < self.count, distance2, float("inf"))
        # top_k on rows of 25: the same bins and values as _nearest's argmin passes (which beat it on
        # rows of 258), faster here.
        negative, position = keras.ops.top_k(-distance2, k=self.neighbours)
        exact = -negative[:, -1] < (2.4 * self.grid) ** 2
        return negative, keras.ops.take_along_axis(index, position, axis=1), exact

    def annealed_mean(self, probs, temperature=DEFAULT_TEMPERATURE):
        """(..., Q) probabilities -> (..., 2) ab (Lab units): expectation under softmax(log p / T)."""
        logp = keras.ops.log(keras.ops.maximum(keras.ops.cast(probs, "float32"), 1e-12))
        annealed = keras.ops.softmax(logp / temperature, axis=-1)
        return keras.ops.matmul(annealed, keras.ops.convert_to_tensor(self.centres))

    def histogram(self, ab, weights=None):
        """(N, 2) ab (numpy, Lab units) -> (Q,) soft-encoded histogram summing to 1."""
        encoded = np.asarray(self.soft_encode(np.asarray(ab, np.float32).reshape(-1, 2)))
        if weights is not None:
            encoded = encoded * np.asarray(weights, np.float32).reshape(-1, 1)
        total = encoded.sum(0)
        return total / max(float(total.sum()), 1e-12)

    def smooth(self, histogram, sigma):
        """(Q,) bin masses spread over neighbouring bins by a Gaussian of ``sigma`` ab units; same total."""
        d2 = ((self.centres[:, None, :] - self.centres[None, :, :]) ** 2).sum(-1)
        kernel = np.exp(-d2 / (2.0 * sigma**2))
        kernel /= kernel.sum(1, keepdims=True)
        return (kernel.T @ np.asarray(histogram, np.float64)).astype(np.float32)

    def rebalancing_weights(self, histogram, mix=0.5, smoothing=SIGMA):
        """(Q,) empirical bin distribution -> (Q,) float32 class weights with E_p[w] = 1.

        The distribution is smoothed with a Gaussian (``smoothing`` ab units) over the bin centres
        first, so an empty bin next to a common one is not given a huge weight.
        """
        p = np.asarray(histogram, np.float64)
        smooth = self.smooth(p / max(p.sum(), 1e-12), smoothing).astype(np.float64)  # still sums to 1
        weights = 1.0 / ((1.0 - mix) * smooth + mix / self.count)
        weights /= (smooth * weights).sum()
        return weights.astype(np.float32)
