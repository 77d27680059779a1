"""Differentiable ab colour histogram: the "colour distribution" of an image or a palette.

Each pixel spreads a unit of mass over nearby bins of a ``bins x bins`` grid over ab/110 in
[-1, 1]. The 2-D histogram is the outer product of the per-channel bin weights summed over
pixels, which is one batched matmul: (B, bins, N) @ (B, N, bins) -> (B, bins, bins).
"""

import keras


@keras.saving.register_keras_serializable(package="exemplar")
class SoftAbHistogram(keras.layers.Layer):
    """(B, H, W, 2) ab/110 in [-1, 1] (+ optional (B, H, W) weights) -> (B, bins * bins), rows sum to 1.

    Bin centres are ``linspace(-1, 1, bins)`` (spacing 2 / (bins - 1), 0.1 for 21 bins = 11 ab units).
    The flat index is ``a_bin * bins + b_bin`` (a major, b minor).

    sigma=None: bilinear kernel (a triangle one bin wide): a pixel on a bin centre puts all its mass
    in that bin, one between two centres splits it linearly, so per-pixel weights already sum to 1
    and gradients are exact (piecewise linear). sigma > 0 (ab/110 units): Gaussian kernel, smoother,
    with each pixel's weights renormalised to sum to 1. Values outside [-1, 1] are clipped first.

    weights: per-pixel mass, e.g. a mask of the pixels to count; an image whose weights are all
    zero gets an all-zero row (the 1e-8 guard avoids dividing by zero).
    """

    def __init__(self, bins=21, sigma=None, **kwargs):
        super().__init__(**kwargs)
        if bins < 2:
            raise ValueError(f"bins must be >= 2, got {bins}")
        if sigma is not None and sigma <= 0:
            raise ValueError(f"sigma must be None or > 0, got {sigma}")
        self.bins = bins
        self.sigma = sigma

    def _bin_weights(self, x):
        """(B, N) values in [-1, 1] -> (B, N, bins) kernel weights, each row summing to 1."""
        centres = keras.ops.linspace(-1.0, 1.0, self.bins)  # (bins,)
        distance = keras.ops.expand_dims(x, -1) - centres  # (B, N, bins), ab/110 units
        if self.sigma is None:
            spacing = 2.0 / (self.bins - 1)
            return keras.ops.relu(1.0 - keras.ops.abs(distance) / spacing)
        weights = keras.ops.exp(-0.5 * keras.ops.square(distance / self.sigma))
        return weights / keras.ops.sum(weights, axis=-1, keepdims=True)

    def call(self, ab, weights=None):
        ab = keras.ops.clip(keras.ops.cast(ab, self.compute_dtype), -1.0, 1.0)
        shape = keras.ops.shape(ab)
        ab = keras.ops.reshape(ab, (shape[0], -1, 2))  # (B, N, 2)
        weights_a = self._bin_weights(ab[..., 0])  # (B, N, bins)
        weights_b = self._bin_weights(ab[..., 1])  # (B, N, bins)
        if weights is not None:
            pixel = keras.ops.reshape(keras.ops.cast(weights, self.compute_dtype), (shape[0], -1, 1))
            weights_b = weights_b * pixel
        histogram = keras.ops.matmul(keras.ops.transpose(weights_a, (0, 2, 1)), weights_b)  # (B, bins, bins)
        histogram = keras.ops.reshape(histogram, (shape[0], self.bins * self.bins))
        return histogram / (keras.ops.sum(histogram, axis=-1, keepdims=True) + 1e-8)

    def compute_output_shape(self, ab_shape, weights_shape=None):
        return (ab_shape[0], self.bins * self.bins)

    def get_config(self):
        config = super().get_config()
        config.update({"bins": self.bins, "sigma": self.sigma})
        return config
