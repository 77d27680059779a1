"""Semantic interpretability of a colorization: does an ImageNet classifier see the same thing?

Zhang et al. (2016) score colorizations by feeding them to a classifier trained on colour photos:
plausible colour keeps the classifier's answer, implausible colour (a blue dog) changes it. The
score per image is 1 when the classifier's top-1 class on the output equals its top-1 class on the
truth, else 0. The grey input sets the floor: a classifier often still recognises a grey photo.

The judge is one of the EfficientNet-Lite ImageNet checkpoints (benchmarks/encoder_imagenet.py gives
their top-1 on ImageNet samples). It should not be the colorizer's own encoder: a network trained on
Lite0 features could score by pleasing Lite0 rather than by colours a viewer would recognise, so a
Lite0-based network is judged by Lite2 (and the reverse). Each judge sees its own training input
side (Lite0 224, Lite2 260), the shorter side first resized to side / 0.875, then centre-cropped.
"""

import cv2
import numpy as np
import tensorflow as tf

CROP = 224  # Lite0's input side (kept for callers; each judge uses its own, see input_size)
RESIZE = 256  # Lite0's shorter side before the centre crop: the usual 224 / 0.875
CROP_FRACTION = 0.875


def _prepare(rgb, crop=CROP):
    """(H, W, 3) float sRGB in [0, 1] -> (crop, crop, 3) float32 in [0, 255]: resize, centre crop."""
    rgb = np.asarray(rgb, np.float32) * 255.0
    h, w = rgb.shape[:2]
    scale = round(crop / CROP_FRACTION) / min(h, w)
    size = (max(crop, round(w * scale)), max(crop, round(h * scale)))
    rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    top, left = (rgb.shape[0] - crop) // 2, (rgb.shape[1] - crop) // 2
    return np.clip(rgb[top : top + crop, left : left + crop], 0.0, 255.0)


class ImageNetAgreement:
    """``agree(output, truth)`` -> 1.0 if the judge's top-1 classes match, else 0.0.

    judge: which EfficientNet-Lite checkpoint classifies, "lite0", "lite1" or "lite2".
    classifier: that variant's model with its classifier (include_top) to share; None builds it.
    """

    def __init__(self, judge="lite2", classifier=None):
        from exemplar.model.encoder import build_encoder, input_size

        self.judge = judge
        self.crop = input_size(judge)  # ValueError for an unknown variant
        if classifier is None:
            classifier = build_encoder(judge, include_top=True, weights="imagenet")
        self.model = classifier
        self._logits = tf.function(lambda x: classifier(x, training=False)["logits"],
                                   input_signature=[tf.TensorSpec((None, self.crop, self.crop, 3), tf.float32)])

    def top1(self, images):
        """List of (H, W, 3) sRGB [0, 1] -> (N,) int ImageNet class indices."""
        batch = np.stack([_prepare(image, self.crop) for image in images])
        return np.argmax(np.asarray(self._logits(batch)), axis=-1)

    def agree(self, output, truth):
        first, second = self.top1([output, truth])
        return float(first == second)
