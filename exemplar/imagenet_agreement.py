"""Semantic interpretability of a colorization: does an ImageNet classifier see the same thing?

Zhang et al. (2016) score colorizations by feeding them to a classifier trained on colour photos:
plausible colour keeps the classifier's answer, implausible colour (a blue dog) changes it. Here
the classifier is the same EfficientNet-Lite0 checkpoint the colorizer's encoder comes from (81.7%
top-1 on ImageNet samples, benchmarks/encoder_imagenet.py), and the score per image is 1 when its
top-1 class on the output equals its top-1 class on the truth, else 0. The grey input sets the
floor: a classifier often still recognises a grey photo.
"""

import cv2
import numpy as np
import tensorflow as tf

CROP = 224
RESIZE = 256  # shorter side before the centre crop: the usual 224 / 0.875


def _prepare(rgb):
    """(H, W, 3) float sRGB in [0, 1] -> (224, 224, 3) float32 in [0, 255]: resize, centre crop."""
    rgb = np.asarray(rgb, np.float32) * 255.0
    h, w = rgb.shape[:2]
    scale = RESIZE / min(h, w)
    size = (max(CROP, round(w * scale)), max(CROP, round(h * scale)))
    rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    top, left = (rgb.shape[0] - CROP) // 2, (rgb.shape[1] - CROP) // 2
    return np.clip(rgb[top : top + CROP, left : left + CROP], 0.0, 255.0)


class ImageNetAgreement:
    """``agree(output, truth)`` -> 1.0 if the classifier's top-1 classes match, else 0.0."""

    def __init__(self, model=None):
        if model is None:
            from exemplar.encoder import EfficientNetLite0

            model = EfficientNetLite0(include_top=True, weights="imagenet")
        self.model = model
        self._logits = tf.function(lambda x: model(x, training=False)["logits"],
                                   input_signature=[tf.TensorSpec((None, CROP, CROP, 3), tf.float32)])

    def top1(self, images):
        """List of (H, W, 3) sRGB [0, 1] -> (N,) int ImageNet class indices."""
        batch = np.stack([_prepare(image) for image in images])
        return np.argmax(np.asarray(self._logits(batch)), axis=-1)

    def agree(self, output, truth):
        first, second = self.top1([output, truth])
        return float(first == second)
