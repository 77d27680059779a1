"""A picture of progress: after each epoch, colorize a fixed batch and save one PNG sheet.

Each row is one example: target (grey, what the generator sees) | reference | output | truth,
at the resolution the network predicts (1/4 of the crop), shown 4x larger. The output keeps the
target's L and takes the decoded ab (exemplar.model.color_net.decode_ab), as inference does.
"""

import os

import keras
import numpy as np
from PIL import Image

from exemplar.core import color
class SampleSheet(keras.callbacks.Callback):
    """Write ``directory/epoch_NNN.png`` (1-based) for a fixed batch.

    batch: dict of numpy arrays as the training dataset yields them (cached features from
    data_prep.cached_pairs, or images from data_prep.make_dataset).
    """

    def __init__(self, directory, batch):
        super().__init__()
        self.directory = str(directory)
        self.batch = {key: np.asarray(value) for key, value in batch.items()}

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        from exemplar.model.color_net import decode_ab

        batch = {key: keras.ops.convert_to_tensor(value) for key, value in self.batch.items()}  # no numpy/tensor mix
        features = self.model.features(batch)
        inputs, _, _ = self.model.color_net_inputs(features)
        outputs = self.model.generator(inputs, training=False)
        ab = keras.ops.convert_to_numpy(decode_ab(outputs, self.model.bins, self.model.train_temperature))
        lab4 = {key: keras.ops.convert_to_numpy(features[key]) for key in ("target_lab4", "reference_lab4")}
        sheet = render_sheet(lab4["target_lab4"], lab4["reference_lab4"], ab.astype(np.float32) / color.AB_SCALE)
        path = os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png")
        Image.fromarray(sheet).save(path)


def render_sheet(target_lab, reference_lab, predicted_ab, zoom=4):
    """Rows of target | reference | output | truth as one (B*h*zoom, 4*w*zoom, 3) uint8 sRGB image.

    target_lab, reference_lab: (B, h, w, 3) [L/50 - 1, a/110, b/110]; predicted_ab: (B, h, w, 2)
    ab/110. References of another size are resized to h x w for display.
    """
    rows = []
    for i in range(predicted_ab.shape[0]):
        l = target_lab[i, ..., 0]
        height, width = l.shape
        grey = np.repeat(color.l_to_grey_rgb(color.denormalize_l(l))[..., None], 3, axis=-1)
        reference = _lab_rgb(reference_lab[i, ..., 0], reference_lab[i, ..., 1:])
        if reference.shape[:2] != (height, width):
            image = Image.fromarray(_to_uint8(reference)).resize((width, height), Image.BILINEAR)
            reference = np.asarray(image, np.float32) / 255.0
        output = _lab_rgb(l, predicted_ab[i])
        truth = _lab_rgb(l, target_lab[i, ..., 1:])
        rows.append(np.concatenate([grey, reference, output, truth], axis=1))
    sheet = _to_uint8(np.concatenate(rows, axis=0))
    return np.asarray(Image.fromarray(sheet).resize((sheet.shape[1] * zoom, sheet.shape[0] * zoom), Image.NEAREST))


def _lab_rgb(l_norm, ab_norm):
    """(H, W) L/50 - 1 and (H, W, 2) ab/110 -> (H, W, 3) sRGB float in [0, 1]."""
    lab = np.concatenate([color.denormalize_l(l_norm)[..., None], color.denormalize_ab(ab_norm)], axis=-1)
    return color.lab_to_rgb(lab)


def _to_uint8(rgb):
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)
