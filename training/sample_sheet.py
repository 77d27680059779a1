"""A picture of progress: after each epoch, colorize a fixed batch and save one PNG sheet.

Each row is one example: target (grey, what the generator sees) | reference | output | truth.
The output keeps the target's L and takes the predicted ab, exactly as inference does.
"""

import os

import keras
import numpy as np
from PIL import Image

from exemplar import color


class SampleSheet(keras.callbacks.Callback):
    """Write ``directory/epoch_NNN.png`` (1-based) for a fixed batch.

    batch: dict of numpy arrays as data_prep.make_dataset yields them (target_l (B, H, W, 1) in
    [-1, 1], target_ab (B, H, W, 2) ab/110, reference_l / reference_ab at the reference size).
    """

    def __init__(self, directory, batch):
        super().__init__()
        self.directory = str(directory)
        self.batch = {key: np.asarray(value) for key, value in batch.items()}

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        inputs = self.model.generator_inputs(self.batch)
        predicted = keras.ops.convert_to_numpy(self.model.generator(inputs, training=False)["ab"])
        sheet = render_sheet(self.batch, predicted.astype(np.float32))
        path = os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png")
        Image.fromarray(sheet).save(path)


def render_sheet(batch, predicted_ab):
    """(rows of target | reference | output | truth) as one (B*H, 4*W, 3) uint8 sRGB image.

    predicted_ab: (B, H, W, 2) ab/110. References of another size are resized to H x W for display.
    """
    rows = []
    for i in range(predicted_ab.shape[0]):
        l = color.denormalize_l(batch["target_l"][i, ..., 0])  # (H, W), L in [0, 100]
        height, width = l.shape
        grey = np.repeat(color.l_to_grey_rgb(l)[..., None], 3, axis=-1)
        reference = _lab_rgb(batch["reference_l"][i, ..., 0], batch["reference_ab"][i])
        if reference.shape[:2] != (height, width):
            image = Image.fromarray(_to_uint8(reference)).resize((width, height), Image.BILINEAR)
            reference = np.asarray(image, np.float32) / 255.0
        output = _lab_rgb(batch["target_l"][i, ..., 0], predicted_ab[i])
        truth = _lab_rgb(batch["target_l"][i, ..., 0], batch["target_ab"][i])
        rows.append(np.concatenate([grey, reference, output, truth], axis=1))
    return _to_uint8(np.concatenate(rows, axis=0))


def _lab_rgb(l_norm, ab_norm):
    """(H, W) L/50 - 1 and (H, W, 2) ab/110 -> (H, W, 3) sRGB float in [0, 1]."""
    lab = np.concatenate([color.denormalize_l(l_norm)[..., None], color.denormalize_ab(ab_norm)], axis=-1)
    return color.lab_to_rgb(lab)


def _to_uint8(rgb):
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)
