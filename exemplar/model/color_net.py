"""ColorNet: the colour network (the trainable part, on frozen encoder features): the one name for it.

`--method net` runs it (exemplar.methods.net_colorizer.NetColorizer); training uses it as the GAN's generator
(training.colorization_gan keeps that role name, which keys its checkpoint files); layer names such as
`head_norm` key the shipped weight files and stay as they are.

Gray2ColorNet's plan (Lu et al. 2020) with colour predicted as a distribution over quantized ab
(:mod:`exemplar.model.ab_bins`). Shapes for a target of H x W and a reference of Hr x Wr (multiples of 32):

  target features s4..s32 (frozen EfficientNet-Lite0)      reference features s8..s32, Lab at 1/4
            |                                                       |
            +---- correspondence at 1/8 (cosine of the ImageNet features, as ``match``) ----+
            |     warped reference colour distribution (B, H/8, W/8, Q) + colour features   |
            |                                                                               |
  decoder 1/32 -> 1/4 (transpose convs, encoder skips) <- gated fusion at 1/8 <- global colour
            |                                                 (reference / palette histogram)
  prior_logits (B, H/4, W/4, Q): the network's own colours, conditioned on the histogram
  gate (B, H/4, W/4, 1) in [0, 1]: how far to follow the reference here (0 without a reference)
  reference_probs (B, H/4, W/4, Q): the warped reference distribution
  colour = gate * reference_probs + (1 - gate) * softmax(prior_logits)          (see ``mix``)

Three modes, one set of weights: reference (reference_mask 1, hist_mask 1), palette (0, 1: the
histogram conditions the prior), automatic (0, 0). Training samples all three.

Why the correspondence is not learned: its (H/8 W/8) x (Hr/8 Wr/8) similarity matrix is the most
expensive product of the network, and with fixed features it needs no backward pass; the learned
parts (gate, prior, fusion) decide what to do with the match, which is where ``match`` fails.
Why 1/4: the colour of a 4x4 block at the working size, brought to full size by the colorizer's
guided filter along the photo's own edges (Zhang et al. also predict at 1/4).

Colour hints (``hints=True``; Zhang et al. 2017, user-guided colorization): a user's points as
``hint_ab4`` (B, H/4, W/4, 2) ab/110, zero where no hint, and ``hint_mask4`` (B, H/4, W/4, 1) in
{0, 1}. The pair is summarised at 1/8, 1/16 and 1/32 (``HintPool``) and enters the decoder at every level
(the bottleneck and each stage's skips), so a point can colour a whole region: the coarse levels
carry it far, the fine ones stop it at the edges the encoder features see. Without any hint the
maps are zero and the network is the one without the input (same graph, constant bias).
"""

import keras

from exemplar.model.ab_bins import AbBins
from exemplar.model.correspondence import cosine_attention
from exemplar.model.encoder import feature_channels
from exemplar.model.color_distribution import ColorDistribution
from exemplar.model.gated_fusion import GatedFusion
from exemplar.model.hint_branch import HintBranch
from exemplar.model.hint_pool import HintPool
from exemplar.model.residual_block import ResidualBlock
from exemplar.model.soft_encoding import SoftEncoding
from exemplar.model.upsample import Upsample

FEATURE_CHANNELS = {"s4": 24, "s8": 40, "s16": 112, "s32": 320}  # EfficientNet-Lite0 strides 4..32


@keras.saving.register_keras_serializable(package="exemplar")
class Correspondence(keras.layers.Layer):
    """call(target (B, h, w, C), reference (B, hr, wr, C), values (B, hr, wr, D)) ->
    (warped (B, h, w, D), top-k similarities (B, h, w, k) in [-1, 1]); no weights.

    constant_channels: how many leading channels of ``values`` never need a gradient (ColorNet:
    the soft-encoded reference colours, data); they are warped by a product of their own, so a
    training step does not back-propagate through it. Same outputs whatever the setting.
    """

    def __init__(self, temperature=0.01, top_k=4, constant_channels=0, **kwargs):
        super().__init__(**kwargs)
        self.temperature = temperature
        self.top_k = top_k
        self.constant_channels = constant_channels

    def call(self, target, reference, values):
        shape = keras.ops.shape(target)
        flat = lambda x: keras.ops.reshape(x, (shape[0], -1, x.shape[-1]))  # noqa: E731
        parts = flat(values)
        split = self.constant_channels
        if 0 < split < values.shape[-1]:
            parts = [keras.ops.stop_gradient(parts[..., :split]), parts[..., split:]]
        warped, top = cosine_attention(flat(target), flat(reference), parts, self.temperature, self.top_k)
        return (
            keras.ops.reshape(warped, (shape[0], shape[1], shape[2], values.shape[-1])),
            keras.ops.reshape(top, (shape[0], shape[1], shape[2], self.top_k)),
        )

    def compute_output_shape(self, target_shape, reference_shape, values_shape):
        grid = tuple(target_shape[:3])
        return grid + (values_shape[-1],), grid + (self.top_k,)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature, "top_k": self.top_k,
                "constant_channels": self.constant_channels}


# The kernels that multiply the hint maps (one 1x1 projection per decoder stride; their skip index follows
# the feature skips of _up_stage). Without hints their inputs are zero, so these kernels (not the biases)
# can be trained alone without changing any output given without hints (training's train.train_only).
HINT_KERNELS = ("hint_skip32/kernel", "dec16_skip1/kernel", "dec8_skip2/kernel", "dec4_skip3/kernel")


def _unit(x, name):
    return keras.layers.UnitNormalization(axis=-1, name=name)(x)


def matching_features(s8, s16, s32, prefix):
    """(B, h, w, 40), (B, h/2, w/2, 112), (B, h/4, w/4, 320) -> (B, h, w, 472) at 1/8.

    Each level unit-normalised, so the cosine of the concatenation is about the mean of the levels'
    cosines (``match`` also centres each level per image first; here the centring happens once, on
    the concatenation, in cosine_attention: measured on 8 self pairs the difference is 0.06 dB)."""
    up16 = Upsample(2, name=f"{prefix}_up16")(s16)
    up32 = Upsample(4, name=f"{prefix}_up32")(s32)
    parts = [_unit(s8, f"{prefix}_s8_unit"), _unit(up16, f"{prefix}_s16_unit"), _unit(up32, f"{prefix}_s32_unit")]
    return keras.layers.Concatenate(name=f"{prefix}_match8")(parts)


def _up_stage(x, skips, channels, name):
    """(B, h, w, C) -> (B, 2h, 2w, channels): transposed conv, plus 1x1-projected skips, residual block."""
    x = keras.layers.Conv2DTranspose(channels, 2, strides=2, name=f"{name}_up")(x)
    for i, skip in enumerate(skips):
        skip = keras.layers.Conv2D(channels, 1, name=f"{name}_skip{i}")(skip)
        x = keras.layers.Add(name=f"{name}_add{i}")([x, skip])
    return ResidualBlock(name=f"{name}_block")(x)


@keras.saving.register_keras_serializable(package="exemplar")
class ColorNet(keras.Model):
    """Encoder features of target and reference -> colour distributions at 1/4 (see module docstring).

    Inputs (dict): ``target_s4`` (B, H/4, W/4, 24), ``target_s8``, ``target_s16``, ``target_s32``;
    ``target_l4`` (B, H/4, W/4, 1) L/50 - 1; ``reference_s8``, ``reference_s16``, ``reference_s32``;
    ``reference_lab4`` (B, Hr/4, Wr/4, 3) [L/50 - 1, a/110, b/110]; ``reference_hist`` (B, hist_bins**2)
    summing to 1 (reference or palette); ``reference_mask`` (B, 1) 1 = reference image given;
    ``hist_mask`` (B, 1) 1 = histogram given (reference or palette), 0 = automatic.
    With ``hints``: also ``hint_ab4`` (B, H/4, W/4, 2) ab/110 and ``hint_mask4`` (B, H/4, W/4, 1).
    Outputs (dict): ``prior_logits`` (B, H/4, W/4, Q), ``reference_probs`` (B, H/4, W/4, Q),
    ``gate`` (B, H/4, W/4, 1) in [0, 1], and ``class_logits`` (B, num_classes) if num_classes.
    encoder: which frozen EfficientNet-Lite the features come from ("lite0", "lite1", "lite2"):
    it sets the feature channels.
    hint_branch: with ``hints``, a HintBranch corrects the head's features wherever a photo has hints
    (exactly zero without any), so a trained model can learn to carry a click over a region.
    """

    def __init__(self, width=32, num_classes=0, hist_bins=21, temperature=0.01, top_k=4, encoder="lite0",
                 hints=False, hint_branch=False, **kwargs):
        bins = AbBins()
        q = bins.count
        channels = feature_channels(encoder)
        inputs = {f"target_{s}": keras.Input((None, None, c), name=f"target_{s}") for s, c in channels.items()}
        inputs["target_l4"] = keras.Input((None, None, 1), name="target_l4")
        for s in ("s8", "s16", "s32"):
            inputs[f"reference_{s}"] = keras.Input((None, None, channels[s]), name=f"reference_{s}")
        inputs["reference_lab4"] = keras.Input((None, None, 3), name="reference_lab4")
        inputs["reference_hist"] = keras.Input((hist_bins * hist_bins,), name="reference_hist")
        inputs["reference_mask"] = keras.Input((1,), name="reference_mask")
        inputs["hist_mask"] = keras.Input((1,), name="hist_mask")
        ref_mask, hist_mask = inputs["reference_mask"], inputs["hist_mask"]
        hint_levels = {4: [], 8: [], 16: [], 32: []}  # extra decoder skips per stride (none without hints)
        if hints:
            inputs["hint_ab4"] = keras.Input((None, None, 2), name="hint_ab4")
            inputs["hint_mask4"] = keras.Input((None, None, 1), name="hint_mask4")
            for stride in (4, 8, 16, 32):  # (B, H/stride, W/stride, 3): [mean hinted ab, any hint]
                pool = HintPool(stride // 4, name=f"hint{stride}")
                hint_levels[stride] = [pool(inputs["hint_ab4"], inputs["hint_mask4"])]

        # Reference colour as distributions: soft-encoded at 1/4, averaged to 1/8 (keeps both
        # colours of a cell on an edge, where averaging ab would give their grey mix).
        ref_q4 = SoftEncoding(name="reference_q4")(inputs["reference_lab4"])  # (B, Hr/4, Wr/4, Q)
        ref_q8 = keras.layers.AveragePooling2D(2, name="reference_q8")(ref_q4)  # (B, Hr/8, Wr/8, Q)
        colour = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name="colour4")(inputs["reference_lab4"])
        colour8 = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu", name="colour8")(colour)
        values = keras.layers.Concatenate(name="values8")([ref_q8, colour8])  # (B, Hr/8, Wr/8, Q + w)

        target8 = matching_features(inputs["target_s8"], inputs["target_s16"], inputs["target_s32"], "target")
        reference8 = matching_features(inputs["reference_s8"], inputs["reference_s16"], inputs["reference_s32"], "reference")
        # float32 under any policy: with bfloat16 compute the cosines (spacing 0.004 near 1) divided by the
        # temperature 0.01 would move the attention logits by up to 0.4, a blur the float32 inference never sees.
        warped, sims = Correspondence(temperature, top_k, constant_channels=q, dtype="float32", name="assign8")(
            target8, reference8, values
        )
        # (B, H/8, W/8, Q), rows sum to 1: data warped by fixed features (the constant channels), no
        # function of a weight. Cut here, a training step does not carry the loss's gradient back
        # through this slice of the warped values and its upsampling only to drop it (same numbers).
        warped_q8 = keras.ops.stop_gradient(warped[..., :q])

        # Global colour: histogram (zero in automatic mode) and which mode this is.
        hist = keras.layers.Multiply(name="masked_hist")([inputs["reference_hist"], hist_mask])
        glob = ColorDistribution(4 * width, name="colour_distribution")(hist)  # (B, 4w)
        modes = keras.layers.Concatenate(name="modes")([ref_mask, hist_mask])
        glob = keras.layers.Add(name="global")([glob, keras.layers.Dense(4 * width, name="mode_embedding")(modes)])
        fused8 = GatedFusion(2 * width, name="fuse8")(warped, sims, glob, ref_mask)  # (B, H/8, W/8, 2w)

        x = keras.layers.Conv2D(2 * width, 1, name="bottleneck")(inputs["target_s32"])
        glob32 = keras.layers.Reshape((1, 1, 2 * width), name="global_at_32")(
            keras.layers.Dense(2 * width, name="global_project")(glob)
        )
        parts = [x, glob32] + [keras.layers.Conv2D(2 * width, 1, name="hint_skip32")(h) for h in hint_levels[32]]
        x = ResidualBlock(name="bottleneck_block")(keras.layers.Add(name="bottleneck_global")(parts))
        bottleneck = x  # (B, H/32, W/32, 2w)
        x = _up_stage(x, [inputs["target_s16"]] + hint_levels[16], 2 * width, "dec16")  # (B, H/16, W/16, 2w)
        x = _up_stage(x, [inputs["target_s8"], fused8] + hint_levels[8], 2 * width, "dec8")  # (B, H/8, W/8, 2w)
        fused4 = Upsample(2, name="fused4")(fused8)
        skips4 = [inputs["target_s4"], inputs["target_l4"], fused4] + hint_levels[4]
        x = _up_stage(x, skips4, width, "dec4")  # (B, H/4, W/4, w)

        features = keras.layers.ReLU(name="head_relu")(keras.layers.GroupNormalization(8, name="head_norm")(x))
        if hints and hint_branch:  # (B, H/4, W/4, w): plus the hints carried over the features, zero without any
            correction = HintBranch(name="hint_branch")(features, inputs["hint_ab4"], inputs["hint_mask4"])
            features = keras.layers.Add(name="head_hinted")([features, correction])
        outputs = {"prior_logits": keras.layers.Conv2D(q, 1, name="prior_logits")(features)}  # (B, H/4, W/4, Q)
        sims4 = Upsample(2, name="sims4")(sims)
        gate = keras.layers.Concatenate(name="gate_in")([features, sims4])
        gate = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="gate_hidden")(gate)
        gate = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="gate_out")(gate)
        mask4 = keras.layers.Reshape((1, 1, 1), name="mask4")(ref_mask)
        outputs["gate"] = keras.layers.Multiply(name="gate")([gate, mask4])  # (B, H/4, W/4, 1)
        outputs["reference_probs"] = Upsample(2, name="reference_probs")(warped_q8)
        if num_classes > 0:
            pooled = keras.layers.GlobalAveragePooling2D(name="class_pool")(bottleneck)
            outputs["class_logits"] = keras.layers.Dense(num_classes, name="class_logits")(pooled)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.width = width
        self.num_classes = num_classes
        self.hist_bins = hist_bins
        self.temperature = temperature
        self.top_k = top_k
        self.encoder = encoder
        self.hints = hints
        self.hint_branch = hint_branch

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "width": self.width,
            "num_classes": self.num_classes,
            "hist_bins": self.hist_bins,
            "temperature": self.temperature,
            "top_k": self.top_k,
            "encoder": self.encoder,
            "hints": self.hints,
            "hint_branch": self.hint_branch,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _gate(outputs, follow):
    """(B, h, w, 1) float32: the learned gate, or ``follow`` wherever a reference is given (gate > 0)."""
    gate = keras.ops.cast(outputs["gate"], "float32")
    if follow is None:
        return gate
    given = keras.ops.cast(keras.ops.max(gate, axis=(1, 2, 3), keepdims=True) > 0, "float32")
    return keras.ops.ones_like(gate) * follow * given


def mix(outputs, follow=None):
    """ColorNet outputs -> (B, h, w, Q) colour probabilities: gate * reference + (1 - gate) * prior.

    follow: None uses the learned gate; a number in [0, 1] replaces it wherever a reference is
    given (1 copies the reference's colours wherever it matches at all, ``--follow-reference``).
    """
    gate = _gate(outputs, follow)
    prior = keras.ops.softmax(keras.ops.cast(outputs["prior_logits"], "float32"), axis=-1)
    return gate * keras.ops.cast(outputs["reference_probs"], "float32") + (1.0 - gate) * prior


def decode_ab(outputs, bins, temperature, follow=None, reference_ab=None, min_gate=None, prior_scale=None, prior=None):
    """ColorNet outputs -> (B, h, w, 2) ab in Lab units: the colour a user sees.

    gate * (mean of the warped reference distribution) + (1 - gate) * annealed mean of the prior:
    - the reference's part is decoded by its plain mean (T = 1), which is the reference's own mean
      ab carried over (the soft encoding is centred on each colour); sharpening it would only snap
      the reference's colours to the 10-unit bin grid;
    - the network's own part by the annealed mean at ``temperature`` (vividness = 1 - T).
    follow: as for :func:`mix`.
    reference_ab: (B, h, w, 2) Lab units to use as the reference's part instead (inference:
      exemplar.model.fine_warp's finer warp); min_gate: (B, h, w, 1) floor on the gate (inference:
      follow confident matches); prior_scale: (B, h, w, 1) in [0, 1] multiplying the prior's ab
      (inference: automatic mode greys what the network is unsure of); prior: (B, h, w, Q) the softmax of
      ``outputs["prior_logits"]``, where the caller has already computed it.
    """
    gate = _gate(outputs, follow)
    if min_gate is not None:
        gate = keras.ops.maximum(gate, min_gate)
    if prior is None:
        prior = keras.ops.softmax(keras.ops.cast(outputs["prior_logits"], "float32"), axis=-1)
    if reference_ab is None:
        centres = keras.ops.convert_to_tensor(bins.centres)
        reference_ab = keras.ops.matmul(keras.ops.cast(outputs["reference_probs"], "float32"), centres)
    prior_ab = bins.annealed_mean(prior, temperature)
    if prior_scale is not None:
        prior_ab = prior_ab * prior_scale
    return gate * reference_ab + (1.0 - gate) * prior_ab
