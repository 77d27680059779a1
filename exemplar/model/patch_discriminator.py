"""PatchGAN discriminator (Isola et al. 2017): one real/fake logit per overlapping image patch."""

import keras


@keras.saving.register_keras_serializable(package="exemplar")
class PatchDiscriminator(keras.Model):
    """(B, H, W, 3) [L/50 - 1, a/110, b/110] -> (B, H / 2**num_layers, W / 2**num_layers, 1) logits.

    ``num_layers`` 4x4 stride-2 convs (width, 2*width, ... capped at 8*width), one 4x4 stride-1
    conv, then a 4x4 conv to one logit per position (receptive field 70 px for num_layers=3).
    Every conv but the first and the last is normalised:
    - "instance": GroupNormalization(groups=-1), per-image statistics, so the judgement of one
      image does not depend on the others in the batch (unlike BatchNorm);
    - "spectral": SpectralNormalization on every conv (Lipschitz-bounded, Miyato et al. 2018),
      which pairs well with the hinge loss.
    LeakyReLU(0.2) throughout; the output is raw logits (no sigmoid).
    """

    def __init__(self, width=64, num_layers=3, normalization="instance", **kwargs):
        if normalization not in ("instance", "spectral"):
            raise ValueError(f"normalization must be 'instance' or 'spectral', got {normalization!r}")

        def conv(filters, strides, name):
            layer = keras.layers.Conv2D(filters, 4, strides=strides, padding="same", name=name)
            if normalization == "spectral":
                layer = keras.layers.SpectralNormalization(layer, name=f"{name}_sn")
            return layer

        def norm(x, name):
            if normalization == "instance":
                x = keras.layers.GroupNormalization(groups=-1, name=f"{name}_in")(x)
            return keras.layers.LeakyReLU(0.2, name=f"{name}_lrelu")(x)

        image = keras.Input((None, None, 3), name="lab")  # (B, H, W, 3) in about [-1, 1]
        x = conv(width, 2, "conv0")(image)  # (B, H/2, W/2, width): no norm on the raw input
        x = keras.layers.LeakyReLU(0.2, name="conv0_lrelu")(x)
        for i in range(1, num_layers):
            x = norm(conv(width * min(2**i, 8), 2, f"conv{i}")(x), f"conv{i}")  # (B, H/2**(i+1), ...)
        x = norm(conv(width * min(2**num_layers, 8), 1, "conv_last")(x), "conv_last")
        logits = conv(1, 1, "logits")(x)  # (B, H / 2**num_layers, W / 2**num_layers, 1)
        super().__init__(inputs=image, outputs=logits, **kwargs)
        self.width = width
        self.num_layers = num_layers
        self.normalization = normalization

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "width": self.width,
            "num_layers": self.num_layers,
            "normalization": self.normalization,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
