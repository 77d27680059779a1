"""The training-free ``match`` method: non-local semantic correspondence with an ImageNet encoder.

Deep Exemplar-based Colorization (He et al. 2018) and Gray2ColorNet's semantic assignment both
carry reference colours to the target through feature similarity. Here the features come from the
frozen EfficientNet-Lite0 applied to the LUMINANCE of both images (so colour cannot leak into the
matching), similarity is cosine over strides 8, 16 and 32 (upsampled to 1/8), and where the best
match is weak the colour falls back to the reference's luminance-conditioned colour statistics.
This method is the fallback when no trained network is wanted, and the correspondence core of
the network (``exemplar.model.correspondence``).
"""

import cv2
import keras
import numpy as np
import tensorflow as tf

from exemplar.core.color import AB_SCALE
from exemplar.model.correspondence import center_and_normalize, cosine_attention


def encoder_input(l):
    """(h, w) L in [0, 100] -> (1, h, w, 3) grey sRGB in [0, 255], the encoder's input.

    L/100*255 is the network's convention too (Gray2ColorNet feeds ``(l_norm + 1) * 127.5``).
    """
    grey = np.asarray(l, np.float32) * 2.55
    return np.repeat(grey[None, :, :, None], 3, axis=-1)


def luminance_conditioned_ab(target_l, reference_labs, bins=20, sigma=6.0):
    """Per-pixel fallback colour: the references' mean ab among pixels of similar L.

    target_l: (h, w) L in [0, 100]; reference_labs: list of (hr, wr, 3) Lab.
    Returns (h, w, 2) ab. Mean ab is taken in L bins with Gaussian weights (sigma in L units),
    so dark target pixels take the colours of the references' dark regions and so on; bins the
    references barely cover borrow the overall mean.
    """
    lab = np.concatenate([r.reshape(-1, 3) for r in reference_labs])  # (N, 3)
    centres = np.linspace(0.0, 100.0, bins, dtype=np.float32)  # (bins,)
    weights = np.exp(-0.5 * ((lab[:, :1] - centres[None]) / sigma) ** 2)  # (N, bins)
    mass = weights.sum(axis=0)  # (bins,)
    overall = lab[:, 1:].mean(axis=0)
    table = (weights.T @ lab[:, 1:] + overall * 5.0) / (mass[:, None] + 5.0)  # (bins, 2), shrunk to mean
    index = np.clip(target_l / 100.0 * (bins - 1), 0, bins - 1)
    lo = np.floor(index).astype(np.int32)
    hi = np.minimum(lo + 1, bins - 1)
    frac = (index - lo)[..., None]
    return (table[lo] * (1 - frac) + table[hi] * frac).astype(np.float32)


class MatchColorizer:
    """Predict ab at the working size from one or more colour references; no training needed.

    temperature: softmax temperature over cosine similarities (small = copy from the best match).
    confidence: (low, high) top-1 cosine similarities mapped to 0 and 1 trust in the match;
      below ``low`` the colour is the references' luminance-conditioned statistics.
    """

    stride = 32  # the working image is resized to a multiple of the encoder's largest stride

    def __init__(self, encoder=None, temperature=0.01, confidence=(0.15, 0.45)):
        if encoder is None:
            from exemplar.model.encoder import EfficientNetLite0

            encoder = EfficientNetLite0(weights="imagenet")
        self.encoder = encoder
        # One graph for every image size: Keras' predict would retrace for each new shape (~2 s).
        self._encode = tf.function(
            lambda image: encoder(image, training=False),
            input_signature=[tf.TensorSpec((1, None, None, 3), tf.float32)],
        )
        self.temperature = temperature
        self.confidence = confidence

    def features(self, l):
        """(h, w) L, h and w multiples of 32 -> (h/8 * w/8, C) features, each level unit-norm."""
        out = self._encode(encoder_input(l))
        h8, w8 = out["stride8"].shape[1:3]
        levels = []
        for key in ("stride8", "stride16", "stride32"):
            level = out[key]  # (1, h/s, w/s, C)
            if level.shape[1:3] != (h8, w8):
                level = keras.ops.image.resize(level, (h8, w8), interpolation="bilinear")
            level = np.asarray(level, np.float32)[0]
            flat = np.asarray(center_and_normalize(level.reshape(1, h8 * w8, -1)))[0]
            levels.append(flat)
        # Concatenating unit-norm levels and scaling by 1/sqrt(3) makes the cosine of the
        # concatenation the mean of the three levels' cosines.
        return np.concatenate(levels, axis=-1) / np.sqrt(len(levels))  # (h8 * w8, C_total)

    def predict_ab(self, target_l, reference_labs):
        """target_l: (h, w) L in [0, 100]; reference_labs: list of (hr, wr, 3) Lab, any sizes.

        Returns (h, w, 2) ab in Lab units at the target's working size.
        """
        height, width = target_l.shape
        target = resize_to_stride(target_l, self.stride)
        query = self.features(target)  # (Nq, C), Nq = h8 * w8
        h8, w8 = target.shape[0] // 8, target.shape[1] // 8
        keys, values = [], []
        for lab in reference_labs:
            lab = resize_to_stride(lab, self.stride)
            keys.append(self.features(lab[..., 0]))
            small = cv2.resize(lab[..., 1:], (lab.shape[1] // 8, lab.shape[0] // 8), interpolation=cv2.INTER_AREA)
            values.append(small.reshape(-1, 2))  # (Nk_i, 2) ab
        # All references' positions form one key set: correspondence runs over them together.
        key = np.concatenate(keys)[None]  # (1, Nk, C)
        value = np.concatenate(values)[None] / AB_SCALE  # (1, Nk, 2) ab/110
        # Features are already centred and normalised; cosine_attention re-centres on the joint
        # set (harmless: the means are ~0) and gives the top-1 similarity for the confidence.
        warped, top = cosine_attention(query[None], key, value, temperature=self.temperature, top_k=1)
        warped = np.asarray(warped)[0].reshape(h8, w8, 2) * AB_SCALE  # (h/8, w/8, 2) ab
        best = np.asarray(top)[0, :, 0].reshape(h8, w8)  # (h/8, w/8) cosine in [-1, 1]
        low, high = self.confidence
        trust = np.clip((best - low) / (high - low), 0.0, 1.0)[..., None]
        warped = cv2.resize(warped, (width, height), interpolation=cv2.INTER_LINEAR)
        trust = cv2.resize(trust, (width, height), interpolation=cv2.INTER_LINEAR)[..., None]
        fallback = luminance_conditioned_ab(target_l, reference_labs)
        return (trust * warped + (1.0 - trust) * fallback).astype(np.float32)

    def predict_ab_palette(self, target_l, palette):
        """target_l: (h, w) L in [0, 100]; palette: :class:`exemplar.methods.palette.Palette` -> (h, w, 2) ab.

        No colour prior to say what is skin or sky: in every mode the palette's colours go to the
        target's tones (:meth:`Palette.assign_ab`), dark colours to dark regions, decided on calm
        regions; ``grade`` blends them more softly. The semantic look needs ``--method net``.
        """
        return palette.assign_ab(target_l)


def resize_to_stride(image, stride):
    """Resize (h, w[, C]) so both sides are multiples of ``stride`` (at least one stride)."""
    height, width = image.shape[:2]
    new_h = max(stride, int(round(height / stride)) * stride)
    new_w = max(stride, int(round(width / stride)) * stride)
    if (new_h, new_w) == (height, width):
        return image
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
    return resized.reshape((new_h, new_w) + image.shape[2:])
