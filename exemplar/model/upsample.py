"""Upsample: bilinear upsampling by an integer factor that works on sizes unknown at trace time.

keras.layers.UpSampling2D needs static spatial sizes inside a tf.function, so a graph traced for
one photo size could not serve another: every new working size cost a user a fresh trace (~2 s).
This layer reads the size at run time, so one graph with (None, None) spatial dims serves all.
Numerically it is UpSampling2D(factor, interpolation="bilinear").
"""

import keras


@keras.saving.register_keras_serializable(package="exemplar")
class Upsample(keras.layers.Layer):
    """(B, h, w, C) -> (B, factor*h, factor*w, C), bilinear (half-pixel centres, no antialiasing)."""

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        shape = keras.ops.shape(x)
        size = (shape[1] * self.factor, shape[2] * self.factor)
        if keras.backend.backend() == "tensorflow":
            # keras.ops.image.resize insists on a static size; tf.image.resize (what it calls on this
            # backend, same half-pixel bilinear) takes a run-time one.
            import tensorflow as tf

            return tf.cast(tf.image.resize(x, size, method="bilinear"), x.dtype)
        return keras.ops.image.resize(x, size, interpolation="bilinear", antialias=False)  # static shapes (JAX)

    def compute_output_shape(self, input_shape):
        scale = lambda n: None if n is None else n * self.factor  # noqa: E731
        return (input_shape[0], scale(input_shape[1]), scale(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
