"""SoftEncoding: Lab pixels -> their distribution over the quantized ab bins (a layer, no weights)."""

import keras

from exemplar.model.ab_bins import AbBins
from exemplar.core.color import AB_SCALE


@keras.saving.register_keras_serializable(package="exemplar")
class SoftEncoding(keras.layers.Layer):
    """(B, h, w, 3) [L/50 - 1, a/110, b/110] (or (B, h, w, 2) ab/110) -> (B, h, w, Q), rows sum to 1.

    Gaussian weights on each pixel's 5 nearest bins (:meth:`exemplar.model.ab_bins.AbBins.soft_encode`).
    The encoding is data, not a function to learn through: no gradient flows back to the input.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.bins = AbBins()

    def call(self, lab):
        ab = keras.ops.stop_gradient(keras.ops.cast(lab[..., -2:], "float32")) * AB_SCALE
        return keras.ops.cast(self.bins.soft_encode(ab), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.bins.count,)
