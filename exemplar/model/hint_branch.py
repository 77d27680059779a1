"""HintBranch: a small network that carries a user's colour hints over the decoder's features.

Why a branch of its own (issue 19): the hint maps also enter the decoder as 1x1-projected skips, but
there they are added to a residual stream whose norm per cell is 100-160 at 1/4, and the network
trained with them learned to colour little beyond the hinted cell. This branch reads the head's
features after their normalisation (post GroupNorm + ReLU, values of order 1) together with the hints,
looks far at 1/8 (dilated convolutions: a click can reach about 30 cells of 1/8 away, 240 pixels of the
working size), and returns a correction to those features, so the prior and the gate see the hint at the
scale they read.

Zero without hints, exactly: the correction is multiplied by "this photo has a hint" (B, 1, 1, 1),
so a model with the branch gives every output without hints bitwise as the same model without it.
That lets the branch be trained alone on a trained model (training's ``train.train_only=hint_branch``)
without changing anything a user gets without hints. The last convolution starts at zero, so such a
run starts from the model as it was.
"""

import keras

from exemplar.model.hint_pool import HintPool
from exemplar.model.upsample import Upsample


@keras.saving.register_keras_serializable(package="exemplar")
class HintBranch(keras.layers.Layer):
    """call(features (B, h, w, C) head features at 1/4, hint_ab4 (B, h, w, 2) ab/110 (zero where no hint),
    hint_mask4 (B, h, w, 1) in {0, 1}) -> (B, h, w, C): a correction to add to ``features``, zero for
    every photo without a hint. h and w even (the branch works at 1/8)."""

    def __init__(self, width=32, dilations=(1, 2, 4, 8), **kwargs):
        super().__init__(**kwargs)
        self.width = width
        self.dilations = tuple(dilations)
        self.down = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu", name="down")
        self.pool8 = HintPool(2, name="pool8")
        self.context = [
            keras.layers.Conv2D(width, 3, padding="same", dilation_rate=d, activation="relu", name=f"context{i}")
            for i, d in enumerate(self.dilations)
        ]
        self.up = Upsample(2, name="up")
        self.out = None  # built with the feature width in build()

    def build(self, features_shape, hint_ab4_shape, hint_mask4_shape):
        channels = features_shape[-1]
        self.down.build((None, None, None, channels + 3))
        shape = (None, None, None, self.width + 3)
        for layer in self.context:
            layer.build(shape)
            shape = (None, None, None, self.width)
        # (B, h, w, width + C + 3) -> (B, h, w, C); zeros: a fresh branch changes nothing
        self.out = keras.layers.Conv2D(channels, 1, kernel_initializer="zeros", name="out")
        self.out.build((None, None, None, self.width + channels + 3))

    def call(self, features, hint_ab4, hint_mask4):
        hints4 = keras.ops.concatenate([hint_ab4 * hint_mask4, hint_mask4], axis=-1)  # (B, h, w, 3)
        x = self.down(keras.ops.concatenate([features, hints4], axis=-1))  # (B, h/2, w/2, width)
        x = keras.ops.concatenate([x, self.pool8(hint_ab4, hint_mask4)], axis=-1)  # + hints at 1/8
        for layer in self.context:
            x = layer(x)  # (B, h/2, w/2, width), receptive field growing with each dilation
        x = keras.ops.concatenate([self.up(x), features, hints4], axis=-1)  # back at 1/4
        any_hint = keras.ops.max(hint_mask4, axis=(1, 2, 3), keepdims=True)  # (B, 1, 1, 1) in {0, 1}
        return self.out(x) * any_hint

    def compute_output_shape(self, features_shape, hint_ab4_shape, hint_mask4_shape):
        return tuple(features_shape)

    def get_config(self):
        return {**super().get_config(), "width": self.width, "dilations": list(self.dilations)}
