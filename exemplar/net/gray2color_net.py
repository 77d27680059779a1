"""Gray2ColorNet-style exemplar colorization network (Lu et al., ACM MM 2020), sized for a CPU.

Data flow (H, W: target size, multiples of 32; Hr, Wr: reference size, any multiples of 32):

  target L, reference L --(shared EfficientNet-Lite0, fed grey RGB)--> features at 1/4 ... 1/32
  semantic assignment at 1/8 and 1/4: reference ab + reference colour features warped to target
  colour distribution: reference (or palette) ab histogram -> global colour features
  gated fusion at 1/8, 1/4, 1/2: M = warped * gate + global * (1 - gate), gate from match quality
  decoder: 1/32 -> full size with Conv2DTranspose, encoder skips, M added at 1/8, 1/4, 1/2;
           tanh ab/110 heads at 1/4, 1/2 and 1/1, optional class logits from the 1/32 features.

Why no attention at 1/2: the similarity matrix is (h*w) x (hr*wr). At 128x128 with a 128x128
reference that is 1024 x 1024 per image at 1/4, but 4096 x 4096 (16x the memory and FLOPs, about
1 GB for a batch of 16) at 1/2, too much for the 2-core CPU training budget. Matches at 1/2
resolution would also rest on the low-level stride-2 features, which are poor at semantics. So
the 1/2 warp (values and similarities) is the 1/4 warp bilinearly upsampled; fine detail at 1/2
and 1/1 comes from the target's own L through the decoder's L skips instead.
"""

import math

import keras

from exemplar.net.color_distribution import ColorDistribution
from exemplar.net.gated_fusion import GatedFusion
from exemplar.net.residual_block import ResidualBlock
from exemplar.net.semantic_assignment import SemanticAssignment


def _grey_rgb(l, name):
    """(B, H, W, 1) L/50 - 1 in [-1, 1] -> (B, H, W, 3) grey in [0, 255], the encoder's input.

    L/100 * 255 rather than the exact sRGB grey of L: it is linear (no gamma in the graph) and
    close (L=50 gives 127.5 against 119), and the same map is used for target and reference.
    """
    grey = keras.layers.Rescaling(scale=127.5, offset=127.5, name=f"{name}_to_255")(l)
    return keras.layers.Concatenate(name=f"{name}_grey_rgb")([grey, grey, grey])


def _matching_features(features, prefix):
    """Encoder dict -> features for matching at 1/8 (B, H/8, W/8, 472) and 1/4 (B, H/4, W/4, 496).

    1/8: stride8 plus the upsampled stride16 and stride32 features (semantics with some locality);
    1/4: stride4 plus the upsampled 1/8 stack (stride4 alone, 24 low-level channels, matches edges
    and textures but not objects).
    """
    # Each level is unit-normalised first, so that the 320-channel stride32 features do not drown
    # the others: the cosine of the concatenation is then the mean of the levels' cosines, the
    # same matching as the training-free ``match`` method.
    def unit(x, name):
        return keras.layers.UnitNormalization(axis=-1, name=f"{prefix}_{name}_unit")(x)

    up16 = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"{prefix}_up16")(features["stride16"])
    up32 = keras.layers.UpSampling2D(4, interpolation="bilinear", name=f"{prefix}_up32")(features["stride32"])
    eighth = keras.layers.Concatenate(name=f"{prefix}_match8")(
        [unit(features["stride8"], "s8"), unit(up16, "s16"), unit(up32, "s32")]
    )
    up8 = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"{prefix}_up8")(eighth)
    quarter = keras.layers.Concatenate(name=f"{prefix}_match4")([unit(features["stride4"], "s4"), up8])
    return eighth, quarter


def _up_stage(x, skips, channels, name):
    """(B, h, w, C) -> (B, 2h, 2w, channels): transposed conv, add the skips (each projected
    1x1 to ``channels`` unless already that wide), then a residual block."""
    x = keras.layers.Conv2DTranspose(channels, 2, strides=2, name=f"{name}_up")(x)
    for i, skip in enumerate(skips):
        if skip.shape[-1] != channels:
            skip = keras.layers.Conv2D(channels, 1, name=f"{name}_skip{i}")(skip)
        x = keras.layers.Add(name=f"{name}_add{i}")([x, skip])
    return ResidualBlock(name=f"{name}_block")(x)


def _ab_head(x, base, name):
    """(B, h, w, C) decoder features, (B, h, w, 2) base ab -> (B, h, w, 2) ab/110 in [-1, 1].

    The head predicts a correction to ``base``, the reference ab warped by the correspondence
    (zero without a reference). Its conv starts at zero, so the untrained network already
    outputs the correspondence result (what ``match`` computes) and training only has to learn
    what to change: on a 2-core CPU budget that is the difference between beating ``match``
    and not. The residual stream grows along the decoder (std ~6 with ImageNet features), so
    it is normalised first. hard_tanh keeps the sum in [-1, 1] and is the identity inside.
    """
    groups = math.gcd(8, x.shape[-1])  # 8 groups, fewer for very narrow decoders
    x = keras.layers.GroupNormalization(groups=groups, name=f"{name}_norm")(x)
    x = keras.layers.ReLU(name=f"{name}_relu")(x)
    x = keras.layers.Conv2D(2, 3, padding="same", kernel_initializer="zeros", name=f"{name}_delta")(x)
    x = keras.layers.Add(name=f"{name}_plus_base")([x, base])
    return keras.layers.Activation("hard_tanh", name=name)(x)


@keras.saving.register_keras_serializable(package="exemplar")
class Gray2ColorNet(keras.Model):
    """Exemplar-based colorization network.

    Inputs (dict): ``target_l`` (B, H, W, 1) L/50 - 1 in [-1, 1]; ``reference_l`` (B, Hr, Wr, 1);
    ``reference_ab`` (B, Hr, Wr, 2) ab/110; ``reference_hist`` (B, hist_bins**2) summing to 1
    (:class:`SoftAbHistogram` of the reference, or of a palette); ``reference_mask`` (B, 1): 1.0
    when a reference image is given, 0.0 for palette only (then only the histogram is used).
    Outputs (dict): ``ab`` (B, H, W, 2), ``ab_half`` (B, H/2, W/2, 2), ``ab_quarter``
    (B, H/4, W/4, 2), all tanh ab/110 in [-1, 1]; ``class_logits`` (B, num_classes) if num_classes.

    encoder: an EfficientNetLite0-like model (dict outputs stride4..stride32); None builds
    EfficientNetLite0(weights="imagenet"). It is shared by target and reference and frozen unless
    ``trainable_encoder``; its BatchNorm layers stay frozen (inference mode) either way.
    ``width`` sets the decoder: 2*width channels at 1/32..1/8, width at 1/4, width/2 at 1/2,
    width/4 at 1/1 (must be a multiple of 4).
    """

    def __init__(
        self,
        encoder=None,
        num_classes=0,
        hist_bins=21,
        width=64,
        temperature=0.01,
        top_k=4,
        trainable_encoder=False,
        **kwargs,
    ):
        if encoder is None:
            from exemplar.encoder import EfficientNetLite0

            encoder = EfficientNetLite0(include_top=False, weights="imagenet")
        if width % 4:
            raise ValueError(f"width must be a multiple of 4, got {width}")
        # Set it twice: with the TF backend `layer.trainable = v` is skipped when it already equals v,
        # and an encoder deserialised with trainable=False has not passed the flag to its layers.
        encoder.trainable = not trainable_encoder
        encoder.trainable = trainable_encoder
        if trainable_encoder:
            # Fine-tune the convolutions only: BatchNorm stays in inference mode with its ImageNet
            # statistics, which batches of 8-16 (half of them references) would only make noisy.
            for layer in encoder.layers:
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.trainable = False
        inputs = {
            "target_l": keras.Input((None, None, 1), name="target_l"),
            "reference_l": keras.Input((None, None, 1), name="reference_l"),
            "reference_ab": keras.Input((None, None, 2), name="reference_ab"),
            "reference_hist": keras.Input((hist_bins * hist_bins,), name="reference_hist"),
            "reference_mask": keras.Input((1,), name="reference_mask"),
        }
        target = encoder(_grey_rgb(inputs["target_l"], "target"))  # dict of (B, H/s, W/s, C)
        reference = encoder(_grey_rgb(inputs["reference_l"], "reference"))  # dict of (B, Hr/s, Wr/s, C)
        target8, target4 = _matching_features(target, "target")
        reference8, reference4 = _matching_features(reference, "reference")

        # Reference colour features: what the decoder should copy, beyond the bare ab values.
        lab = keras.layers.Concatenate(name="reference_lab")([inputs["reference_l"], inputs["reference_ab"]])
        colour = keras.layers.Conv2D(width // 2, 3, strides=2, padding="same", activation="relu", name="colour2")(lab)
        colour4 = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu", name="colour4")(colour)
        colour8 = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu", name="colour8")(colour4)
        ab4 = keras.layers.AveragePooling2D(4, name="reference_ab4")(inputs["reference_ab"])  # (B, Hr/4, Wr/4, 2)
        ab8 = keras.layers.AveragePooling2D(8, name="reference_ab8")(inputs["reference_ab"])  # (B, Hr/8, Wr/8, 2)
        values4 = keras.layers.Concatenate(name="values4")([ab4, colour4])  # (B, Hr/4, Wr/4, width + 2)
        values8 = keras.layers.Concatenate(name="values8")([ab8, colour8])  # (B, Hr/8, Wr/8, width + 2)

        # Semantic assignment: warped (B, h, w, width + 2) and top-k similarities (B, h, w, top_k).
        warped8, sims8 = SemanticAssignment(2 * width, temperature, top_k, name="assign8")(
            target8, reference8, values8
        )
        warped4, sims4 = SemanticAssignment(width, temperature, top_k, name="assign4")(target4, reference4, values4)
        warped2 = keras.layers.UpSampling2D(2, interpolation="bilinear", name="warped2")(warped4)
        sims2 = keras.layers.UpSampling2D(2, interpolation="bilinear", name="sims2")(sims4)

        glob = ColorDistribution(4 * width, name="colour_distribution")(inputs["reference_hist"])  # (B, 4w)
        mask = inputs["reference_mask"]
        fused8 = GatedFusion(2 * width, name="fuse8")(warped8, sims8, glob, mask)  # (B, H/8, W/8, 2w)
        fused4 = GatedFusion(width, name="fuse4")(warped4, sims4, glob, mask)  # (B, H/4, W/4, w)
        fused2 = GatedFusion(width // 2, name="fuse2")(warped2, sims2, glob, mask)  # (B, H/2, W/2, w/2)

        # Decoder. The target's own L gives edges at 1/2 and 1/1, where the encoder has no skips.
        l_half = keras.layers.Conv2D(width // 2, 3, strides=2, padding="same", activation="relu", name="l_half")(
            inputs["target_l"]
        )
        l_full = keras.layers.Conv2D(width // 4, 3, padding="same", activation="relu", name="l_full")(
            inputs["target_l"]
        )
        x = keras.layers.Conv2D(2 * width, 1, name="bottleneck")(target["stride32"])
        x = ResidualBlock(name="bottleneck_block")(x)  # (B, H/32, W/32, 2w)
        bottleneck = x
        x = _up_stage(x, [target["stride16"]], 2 * width, "dec16")  # (B, H/16, W/16, 2w)
        x = _up_stage(x, [target["stride8"], fused8], 2 * width, "dec8")  # (B, H/8, W/8, 2w)
        x = _up_stage(x, [target["stride4"], fused4], width, "dec4")  # (B, H/4, W/4, w)
        # Base for the ab heads: the warped reference ab at 1/4 (first 2 value channels), zero for
        # palette-only examples; bilinearly upsampled for the 1/2 and full-size heads.
        base4 = keras.layers.Multiply(name="base4")([warped4[..., :2], keras.layers.Reshape((1, 1, 1))(mask)])
        base2 = keras.layers.UpSampling2D(2, interpolation="bilinear", name="base2")(base4)
        base1 = keras.layers.UpSampling2D(4, interpolation="bilinear", name="base1")(base4)
        outputs = {"ab_quarter": _ab_head(x, base4, "ab_quarter")}
        x = _up_stage(x, [l_half, fused2], width // 2, "dec2")  # (B, H/2, W/2, w/2)
        outputs["ab_half"] = _ab_head(x, base2, "ab_half")
        x = _up_stage(x, [l_full], width // 4, "dec1")  # (B, H, W, w/4)
        outputs["ab"] = _ab_head(x, base1, "ab")
        if num_classes > 0:
            # On the trainable bottleneck rather than the raw (frozen) stride32 features: the
            # auxiliary loss then shapes features the decoder actually uses.
            pooled = keras.layers.GlobalAveragePooling2D(name="class_pool")(bottleneck)
            outputs["class_logits"] = keras.layers.Dense(num_classes, name="class_logits")(pooled)

        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.encoder = encoder
        self.num_classes = num_classes
        self.hist_bins = hist_bins
        self.width = width
        self.temperature = temperature
        self.top_k = top_k
        self.trainable_encoder = trainable_encoder

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "num_classes": self.num_classes,
            "hist_bins": self.hist_bins,
            "width": self.width,
            "temperature": self.temperature,
            "top_k": self.top_k,
            "trainable_encoder": self.trainable_encoder,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("encoder"), dict):
            config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
