"""HintPool: a user's colour hints at 1/4, summarised at a coarser stride for the decoder.

Hints are sparse: one 3x3 click in an 8x8 block of 1/4 cells is 1/64 of its plain average, a
signal the decoder's first layers would have to learn to amplify. Instead each coarse cell gets
the mean ab *of its hinted cells only* and a 0/1 flag saying whether it holds any hint, so one
click reaches the 1/32 level at full strength and the decoder carries it over the region.
"""

import keras


@keras.saving.register_keras_serializable(package="exemplar")
class HintPool(keras.layers.Layer):
    """call(hint_ab (B, h, w, 2) ab/110, zero where no hint; hint_mask (B, h, w, 1) in {0, 1}) ->
    (B, h/factor, w/factor, 3): [mean ab over the cell's hinted pixels (0 where none), any hint]."""

    def __init__(self, factor=1, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, hint_ab, hint_mask):
        if self.factor > 1:
            pool = lambda x: keras.ops.average_pool(x, self.factor, self.factor, "valid")  # noqa: E731
            ab_sum, share = pool(hint_ab * hint_mask), pool(hint_mask)  # both /factor^2: their ratio is the mean
            hint_ab = ab_sum / keras.ops.maximum(share, 1e-6)
            hint_mask = keras.ops.cast(share > 0, hint_ab.dtype)
        return keras.ops.concatenate([hint_ab * hint_mask, hint_mask], axis=-1)

    def compute_output_shape(self, hint_ab_shape, hint_mask_shape):
        scale = lambda n: None if n is None else n // self.factor  # noqa: E731
        return (hint_ab_shape[0], scale(hint_ab_shape[1]), scale(hint_ab_shape[2]), 3)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
