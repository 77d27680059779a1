"""Semantic assignment: warp reference values to target positions by learned feature similarity.

Gray2ColorNet (Lu et al. 2020) correlates target and reference features and carries the
reference's colours to the best-matching target positions. Here a small shared projection adapts
the (frozen) encoder features to matching, and :func:`exemplar.correspondence.cosine_attention`
does the softmax-weighted warp. The reference may have any size: nothing depends on the number
of reference positions, and the per-position confidence is the top-k similarities (B, h, w, k)
rather than a layer over all reference positions (the official code's Conv1d ties the reference
to 128x128).
"""

import keras

from exemplar.correspondence import cosine_attention


@keras.saving.register_keras_serializable(package="exemplar")
class SemanticAssignment(keras.layers.Layer):
    """Warp ``reference_values`` onto the target grid.

    call(target_features (B, h, w, C), reference_features (B, hr, wr, C), reference_values
    (B, hr, wr, D)) -> (warped (B, h, w, D), similarities (B, h, w, top_k) in [-1, 1], descending).

    Both feature maps go through the same two 1x1 projections (ReLU then linear, ``channels``
    wide) so that target and reference are compared in one learned space. ``temperature`` sharpens
    the softmax over reference positions (0.01: nearly the best match, still differentiable).
    Cost: a (h*w) x (hr*wr) similarity matrix per image, so keep it to 1/4 resolution or coarser.
    """

    def __init__(self, channels=128, temperature=0.01, top_k=4, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.temperature = temperature
        self.top_k = top_k
        self.hidden = keras.layers.Dense(channels, activation="relu", name="hidden", dtype=self.dtype_policy)
        # Zero-initialised: the learned part of the embedding starts empty, so matching starts as
        # the cosine of the (unit-normalised) encoder features and training adds to it.
        self.project = keras.layers.Dense(channels, kernel_initializer="zeros", name="project", dtype=self.dtype_policy)

    def build(self, target_features_shape, reference_features_shape=None, reference_values_shape=None):
        self.hidden.build(target_features_shape)
        self.project.build(tuple(target_features_shape[:-1]) + (self.channels,))

    def _embed(self, features):
        """(B, h, w, C) -> (B, h*w, C + channels): the features themselves plus a learned projection."""
        x = keras.ops.concatenate([features, self.project(self.hidden(features))], axis=-1)
        return keras.ops.reshape(x, (keras.ops.shape(x)[0], -1, x.shape[-1]))

    def call(self, target_features, reference_features, reference_values):
        shape = keras.ops.shape(target_features)  # (B, h, w, C)
        depth = reference_values.shape[-1]
        values = keras.ops.reshape(reference_values, (shape[0], -1, depth))  # (B, hr*wr, D)
        # float32 even under mixed precision: the sums of squares in the normalisation overflow
        # float16 for features of size ~20, and the softmax of similarity / 0.01 needs the precision.
        warped, similarities = cosine_attention(
            keras.ops.cast(self._embed(target_features), "float32"),
            keras.ops.cast(self._embed(reference_features), "float32"),
            keras.ops.cast(values, "float32"),
            temperature=self.temperature,
            top_k=self.top_k,
        )  # (B, h*w, D), (B, h*w, top_k)
        warped = keras.ops.cast(warped, self.compute_dtype)
        similarities = keras.ops.cast(similarities, self.compute_dtype)
        warped = keras.ops.reshape(warped, (shape[0], shape[1], shape[2], depth))
        similarities = keras.ops.reshape(similarities, (shape[0], shape[1], shape[2], self.top_k))
        return warped, similarities

    def compute_output_shape(self, target_features_shape, reference_features_shape, reference_values_shape):
        grid = tuple(target_features_shape[:3])
        return grid + (reference_values_shape[-1],), grid + (self.top_k,)

    def get_config(self):
        config = super().get_config()
        config.update({"channels": self.channels, "temperature": self.temperature, "top_k": self.top_k})
        return config
