"""Gated fusion of local (warped reference) and global (colour distribution) colour features.

Where the target matches the reference well, the warped reference colour is trusted; elsewhere
(no counterpart in the reference, or a palette with no reference image at all) the decoder gets
the global colour distribution instead: M = warped * gate + global * (1 - gate).
"""

import keras


@keras.saving.register_keras_serializable(package="exemplar")
class GatedFusion(keras.layers.Layer):
    """call(warped (B, h, w, D), similarities (B, h, w, k) in [-1, 1], global_features (B, G),
    reference_mask (B, 1) 1.0 or 0.0) -> fused (B, h, w, channels).

    The gate (B, h, w, 1) in [0, 1] comes from two 3x3 convs on the top-k similarities only (how
    sure and how unambiguous the match is, whatever the reference's size), times
    ``reference_mask``: a mask of 0 (palette only) gives gate 0, so the output is exactly the
    projected global features and does not depend on the warped values at all.
    """

    def __init__(self, channels, gate_channels=16, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.gate_channels = gate_channels
        policy = self.dtype_policy
        self.local_project = keras.layers.Dense(channels, name="local_project", dtype=policy)
        self.global_project = keras.layers.Dense(channels, name="global_project", dtype=policy)
        self.gate_hidden = keras.layers.Conv2D(
            gate_channels, 3, padding="same", activation="relu", name="gate_hidden", dtype=policy
        )
        self.gate_out = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="gate_out", dtype=policy)

    def build(self, warped_shape, similarities_shape=None, global_features_shape=None, reference_mask_shape=None):
        self.local_project.build(warped_shape)
        self.global_project.build(global_features_shape)
        self.gate_hidden.build(similarities_shape)
        self.gate_out.build(tuple(similarities_shape[:3]) + (self.gate_channels,))

    def gate(self, similarities, reference_mask):
        """(B, h, w, k), (B, 1) -> (B, h, w, 1) in [0, 1]: how much to trust the warped colour."""
        mask = keras.ops.reshape(keras.ops.cast(reference_mask, self.compute_dtype), (-1, 1, 1, 1))
        return self.gate_out(self.gate_hidden(similarities)) * mask

    def call(self, warped, similarities, global_features, reference_mask):
        gate = self.gate(similarities, reference_mask)  # (B, h, w, 1)
        local = self.local_project(warped)  # (B, h, w, channels)
        glob = self.global_project(global_features)[:, None, None, :]  # (B, 1, 1, channels)
        return local * gate + glob * (1.0 - gate)

    def compute_output_shape(self, warped_shape, *args):
        return tuple(warped_shape[:3]) + (self.channels,)

    def get_config(self):
        config = super().get_config()
        config.update({"channels": self.channels, "gate_channels": self.gate_channels})
        return config
