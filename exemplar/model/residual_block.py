"""Pre-activation residual block, the decoder's unit of computation."""

import math

import keras


@keras.saving.register_keras_serializable(package="exemplar")
class ResidualBlock(keras.layers.Layer):
    """(B, h, w, C) -> (B, h, w, C): x + conv(relu(norm(conv(relu(norm(x)))))), 3x3 convs.

    Pre-activation (He et al. 2016) keeps the identity path free of non-linearities, so a stack
    of blocks starts close to the identity. GroupNormalization instead of BatchNorm: training runs
    with batches of 8-16 and a GAN loss, where batch statistics are noisy and couple the samples.
    """

    def __init__(self, groups=8, **kwargs):
        super().__init__(**kwargs)
        self.groups = groups

    def build(self, input_shape):
        channels = input_shape[-1]
        groups = math.gcd(self.groups, channels)  # largest divisor of self.groups dividing C
        policy = self.dtype_policy
        self.norm1 = keras.layers.GroupNormalization(groups=groups, name="norm1", dtype=policy)
        self.conv1 = keras.layers.Conv2D(channels, 3, padding="same", name="conv1", dtype=policy)
        self.norm2 = keras.layers.GroupNormalization(groups=groups, name="norm2", dtype=policy)
        self.conv2 = keras.layers.Conv2D(channels, 3, padding="same", name="conv2", dtype=policy)
        for layer in (self.norm1, self.conv1, self.norm2, self.conv2):
            layer.build(input_shape)

    def call(self, x):
        y = self.conv1(keras.ops.relu(self.norm1(x)))
        y = self.conv2(keras.ops.relu(self.norm2(y)))
        return x + y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"groups": self.groups})
        return config
