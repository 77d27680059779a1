"""The ``net`` method: the trained Gray2ColorNet-style network at the working size.

Same contract as :class:`exemplar.match_colorizer.MatchColorizer`: L (h, w) in, ab (h, w, 2) out,
so the Colorizer's full-size guided upsampling and L-preserving composition apply unchanged.
"""

from importlib.resources import files

import cv2
import keras
import numpy as np
import tensorflow as tf

from exemplar.color import AB_SCALE, normalize_l
from exemplar.generator_weights import load_generator, load_trust
from exemplar.match_colorizer import resize_to_stride

STRIDE = 32  # the network's inputs are multiples of the encoder's largest stride


class NetColorizer:
    """Load the shipped (or a given) generator once; predict ab for any target and references.

    weights: folder holding ``default.npz`` and ``default.json`` (None: the packaged model), and
      optionally ``trust.npz`` / ``trust.json``, a fitted :class:`ReferenceTrust` head.
    follow_reference: ignore the trust head and copy the reference's colours wherever they match
      (the generator's raw output). Without a trust file that is what happens anyway.
    """

    def __init__(self, weights=None, follow_reference=False):
        folder = weights if weights is not None else files("exemplar") / "weights"
        self.model, self.info = load_generator(folder)
        self.trust = None if follow_reference else load_trust(folder)
        # What the trust head reads besides the ab: the target's matching features and the
        # correspondence similarities at 1/8 (their names are fixed by Gray2ColorNet).
        self.parts = keras.Model(self.model.inputs, {
            "ab": self.model.output["ab"],  # (1, h32, w32, 2) ab/110
            "features8": self.model.get_layer("target_match8").output,  # (1, h32/8, w32/8, 472)
            "similarities8": self.model.get_layer("assign8").output[1],  # (1, h32/8, w32/8, top_k)
        })
        # A graph per input shape (bilinear UpSampling2D cannot trace unknown sizes): ~2 s to
        # trace once, then about twice as fast as eager calls. Working sizes are multiples of 32,
        # so photos of one aspect ratio share a graph.
        self._raw = tf.function(lambda inputs: self.model(inputs, training=False)["ab"])
        if self.trust is not None:
            self._trusted = tf.function(lambda inputs: self.trust(self.parts(inputs, training=False), training=False))

    @property
    def encoder(self):
        """The network's ImageNet encoder, for sharing (reference search) instead of a second copy."""
        return self.model.encoder

    def network_inputs(self, target_l, reference_labs):
        """target_l: (h, w) L in [0, 100]; reference_labs: list of (hr, wr, 3) Lab -> the generator's
        input dict at the network size (h32, w32), multiples of 32.

        Several references are set side by side into one reference image, so correspondence
        runs over all their positions and the colour histogram is their union.
        """
        from exemplar.palette import soft_ab_histogram

        target = resize_to_stride(target_l, STRIDE)  # (h32, w32)
        reference = _side_by_side(reference_labs, min(target.shape))  # (S, S * n, 3) Lab
        hist = soft_ab_histogram(reference[..., 1:], bins=self.model.hist_bins)  # takes Lab units
        return _inputs(target, reference[..., :1], reference[..., 1:] / AB_SCALE, hist, mask=1.0)

    def predict_ab(self, target_l, reference_labs):
        """target_l: (h, w) L in [0, 100]; reference_labs: list of (hr, wr, 3) Lab -> (h, w, 2) ab."""
        inputs = self.network_inputs(target_l, reference_labs)
        predict = self._raw if self.trust is None else self._trusted
        ab = np.asarray(predict(inputs))[0] * AB_SCALE  # (h32, w32, 2) ab
        return _resize(ab, target_l.shape)

    def predict_ab_palette(self, target_l, palette):
        """A palette feeds the colour-distribution branch directly; no reference image (mask 0).

        The trust head is not used: with no reference image there is no correspondence to judge.
        """
        empty = np.zeros((STRIDE, STRIDE, 1), np.float32)
        hist = palette.ab_histogram(bins=self.model.hist_bins)
        target = resize_to_stride(target_l, STRIDE)
        inputs = _inputs(target, empty + 50.0, np.zeros((STRIDE, STRIDE, 2), np.float32), hist, mask=0.0)
        ab = np.asarray(self._raw(inputs))[0] * AB_SCALE  # (h32, w32, 2) ab
        return _resize(ab, target_l.shape)


def _inputs(target, reference_l, reference_ab, hist, mask):
    """target (h32, w32) and reference (hr, wr, 1) L in [0, 100], reference ab/110 (hr, wr, 2),
    hist (bins**2,), mask 1.0 (reference image) or 0.0 (palette) -> the generator's batch of one."""
    return {
        "target_l": normalize_l(target)[None, ..., None].astype(np.float32),
        "reference_l": normalize_l(reference_l)[None].astype(np.float32),
        "reference_ab": reference_ab[None].astype(np.float32),
        "reference_hist": np.asarray(hist, np.float32).reshape(1, -1),
        "reference_mask": np.full((1, 1), mask, np.float32),
    }


def _resize(ab, shape):
    """(h32, w32, 2) ab back to the working size (h, w)."""
    return cv2.resize(ab, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def _side_by_side(labs, side):
    """List of (h_i, w_i, 3) Lab -> one (side, side * n, 3) image, each reference squashed square.

    Correspondence is robust to a moderate change of aspect, and fixed reference shapes mean the
    traced graph is reused for every target of the same working size (tracing costs ~2 s).
    """
    return np.concatenate([cv2.resize(lab, (side, side), interpolation=cv2.INTER_AREA) for lab in labs], axis=1)
