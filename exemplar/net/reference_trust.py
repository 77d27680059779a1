"""ReferenceTrust: how far to follow the reference's colours, region by region.

Gray2ColorNet is trained mostly on self-references, so it copies the reference's colours wherever
the correspondence finds a match. With a *different* photo of a similar scene that is right for
some regions (foliage is green in most forest photos) and wrong for others (a sunset sky in the
reference, a blue one in the target; a red car parked where the target has a grey one).

ReferenceTrust is a small per-cell head, fitted after the generator with the generator frozen
(``python -m training.fit_trust``). At each 1/8 cell it sees
- what the region is: the target's matching features (the generator's ``target_match8``),
- how well it matched: the top-k correspondence similarities (``assign8``),
- whether the reference is the same scene at all: the image mean of the top-1 similarity
  (about 0.6-0.8 for a copy of the target, 0.3-0.5 for another photo of its class),
and predicts a gain and an offset for the generator's ab: ``ab' = gain * ab + offset``. A gain
below 1 pulls unreliable colours towards the offset, a colour learned for that kind of region.
An image-level gate, ``sigmoid((gate_centre - mean similarity) / gate_width)``, scales the whole
correction: a reference that is a copy of the target (colours to be carried over exactly) gets
gate ~0 and is followed as the generator does, another photo of a similar scene gets gate ~1.
The gate is not trained (left free, the fit blurs it to lower the error of its own photos a
little, which costs held-out copies dB); fit_trust sets it between the mean similarities it
measured for the two kinds of pair.
The cell layer starts at zero, so an unfitted head is the identity (gain 1, offset 0).

``vividness`` multiplies the offset at inference: fitted for the least squared error, the offset
is the *mean* colour of a kind of region over many photos, paler than any one photo (fitting
shrinks towards grey what it cannot predict); a vividness above 1 gives some of that colour back.
"""

import keras
from keras import ops

GAIN_BIAS = 3.0  # gain = sigmoid(z + 3) / sigmoid(3): exactly 1 at z = 0, never above 1.05
MAX_OFFSET = 0.3  # offset = 0.3 * tanh(z): within about 33 ab units (ab/110 units here)


def gain_offset(params, vividness=1.0):
    """(..., 4) head outputs (3 raw cell params, 1 image gate in [0, 1]) -> gain (..., 1) in
    (0, 1.05), offset (..., 2) ab/110 in (-0.3, 0.3) * vividness; gate 0 gives gain 1, offset 0."""
    gate = params[..., 3:4]
    gain = ops.sigmoid(params[..., :1] + GAIN_BIAS) / ops.sigmoid(GAIN_BIAS)
    offset = MAX_OFFSET * vividness * ops.tanh(params[..., 1:3])
    return 1.0 + gate * (gain - 1.0), gate * offset


@keras.saving.register_keras_serializable(package="exemplar")
class CellDescriptor(keras.layers.Layer):
    """call(features (B, h, w, F), similarities (B, h, w, k)) -> (B, h, w, F + k + 1).

    The last channel is the image's mean top-1 similarity, the same for every cell: how much of
    the target found a counterpart in the reference.
    """

    def call(self, features, similarities):
        top1 = similarities[..., :1]  # (B, h, w, 1) in [-1, 1]
        mean = ops.mean(top1, axis=(1, 2), keepdims=True)  # (B, 1, 1, 1)
        return ops.concatenate([features, similarities, ops.zeros_like(top1) + mean], axis=-1)

    def compute_output_shape(self, features_shape, similarities_shape):
        return tuple(features_shape[:3]) + (features_shape[-1] + similarities_shape[-1] + 1,)


@keras.saving.register_keras_serializable(package="exemplar")
class ImageGate(keras.layers.Layer):
    """call(mean similarity (..., 1)) -> sigmoid((centre - mean) / width) (..., 1): no weights."""

    def __init__(self, centre=0.5, width=0.02, **kwargs):
        super().__init__(**kwargs)
        self.centre = centre
        self.width = width

    def call(self, mean):
        return ops.sigmoid((self.centre - mean) / self.width)

    def compute_output_shape(self, shape):
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "centre": self.centre, "width": self.width}


@keras.saving.register_keras_serializable(package="exemplar")
class ApplyGainOffset(keras.layers.Layer):
    """call(ab (B, H, W, 2) ab/110, params (B, H, W, 4)) -> gain * ab + offset, clipped to [-1, 1]."""

    def __init__(self, vividness=1.0, **kwargs):
        super().__init__(**kwargs)
        self.vividness = vividness

    def call(self, ab, params):
        gain, offset = gain_offset(params, self.vividness)
        return ops.clip(ab * gain + offset, -1.0, 1.0)

    def compute_output_shape(self, ab_shape, params_shape):
        return tuple(ab_shape)

    def get_config(self):
        return {**super().get_config(), "vividness": self.vividness}


@keras.saving.register_keras_serializable(package="exemplar")
class ReferenceTrust(keras.Model):
    """Inputs (dict): ``features8`` (B, H/8, W/8, feature_dim), ``similarities8`` (B, H/8, W/8,
    top_k), ``ab`` (B, H, W, 2) ab/110 from the generator. Output: (B, H, W, 2) ab/110 in [-1, 1].

    ``cell_model`` maps flat cell descriptors (N, feature_dim + top_k + 1) to params (N, 4)
    with the same layers: fitting works on cells, not on images (see training/fit_trust.py).
    """

    def __init__(self, feature_dim=472, top_k=4, hidden=64, vividness=1.0, gate_centre=0.5, gate_width=0.02, **kwargs):
        inputs = {
            "features8": keras.Input((None, None, feature_dim), name="features8"),
            "similarities8": keras.Input((None, None, top_k), name="similarities8"),
            "ab": keras.Input((None, None, 2), name="ab"),
        }
        hidden_layer = keras.layers.Dense(hidden, activation="relu", name="hidden")
        params_layer = keras.layers.Dense(3, kernel_initializer="zeros", name="params")
        gate_layer = ImageGate(gate_centre, gate_width, name="image_gate")  # fixed, not trained
        concat = keras.layers.Concatenate(name="params_and_gate")

        def head(cells):  # (..., F + k + 1) -> (..., 4)
            return concat([params_layer(hidden_layer(cells)), gate_layer(cells[..., -1:])])

        cells = CellDescriptor(name="cells")(inputs["features8"], inputs["similarities8"])
        params = head(cells)  # (B, H/8, W/8, 4)
        # Raw params are upsampled, not gains: smooth across cell borders, and the same
        # 0-means-identity rule holds everywhere.
        params = keras.layers.UpSampling2D(8, interpolation="bilinear", name="params_up")(params)
        output = ApplyGainOffset(vividness, name="ab_trusted")(inputs["ab"], params)
        super().__init__(inputs=inputs, outputs=output, **kwargs)

        cell_input = keras.Input((feature_dim + top_k + 1,), name="cell")
        self.cell_model = keras.Model(cell_input, head(cell_input), name="cell_model")
        self.feature_dim = feature_dim
        self.top_k = top_k
        self.hidden = hidden
        self.vividness = vividness
        self.gate_centre = gate_centre
        self.gate_width = gate_width

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "feature_dim": self.feature_dim,
            "top_k": self.top_k,
            "hidden": self.hidden,
            "vividness": self.vividness,
            "gate_centre": self.gate_centre,
            "gate_width": self.gate_width,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
