"""Global colour features from a colour distribution (an ab histogram of a reference or a palette)."""

import keras


@keras.saving.register_keras_serializable(package="exemplar")
class ColorDistribution(keras.layers.Layer):
    """(B, bins * bins) histogram summing to 1 -> (B, units) global colour features (ReLU, >= 0).

    Two Dense layers: the histogram is a sparse 441-vector whose mass sits in a few bins, and the
    first layer turns it into a dense code that :class:`GatedFusion` projects per scale. The
    histogram is scaled by its number of bins first so that a uniform histogram has entries of 1
    rather than 1/441 (inputs of order one keep the default initialisers well scaled).
    """

    def __init__(self, units=256, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="relu", name="hidden", dtype=self.dtype_policy)
        self.out = keras.layers.Dense(units, activation="relu", name="out", dtype=self.dtype_policy)

    def build(self, histogram_shape):
        self.hidden.build(histogram_shape)
        self.out.build((histogram_shape[0], self.units))

    def call(self, histogram):
        bins = histogram.shape[-1]
        return self.out(self.hidden(keras.ops.cast(histogram, self.compute_dtype) * float(bins)))

    def compute_output_shape(self, histogram_shape):
        return (histogram_shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config
