"""A cache of frozen-encoder features, so that training never runs the encoder.

The encoder (EfficientNet-Lite0, -Lite1 or -Lite2, frozen) is most of a training step's cost when it
runs on the fly, and it sees the same photos every pass. ``build_cache`` runs it once per photo and
per mirror image, at ``size`` x ``size`` (the photo's shorter side resized to ``size``, centre crop),
and writes float16 arrays that training memory-maps (channels: Lite0 and Lite1's, Lite2's in brackets):

  s4.npy   (N, 2, size/4,  size/4,  24)         [:, 0] the photo, [:, 1] its mirror image
  s8.npy   (N, 2, size/8,  size/8,  40 [48])
  s16.npy  (N, 2, size/16, size/16, 112 [120])
  s32.npy  (N, 2, size/32, size/32, 320 [352])
  lab4.npy (N, size/4, size/4, 3)          CIE Lab, area-averaged to 1/4 (L 0..100, ab Lab units)
  labels.npy (N,) int32, -1 = unlabelled;  groups.npy (N,) int32: the photo's top-level folder below
  the cached root (``scenes`` for scenes/forest/1.jpg, ``faces`` for faces/2.jpg; "" directly in it),
  which training samples by share (data.group_shares);  meta.json: size, encoder variant ("lite0",
  "lite1" or "lite2"), class names, group names, file names, skipped photos

Training crops the feature grids at multiples of 32 pixels (one stride-32 cell), which is exact
for every level (s4 offsets of 8, s8 of 4, ...), and flips by choosing the mirror image's
features. Size 160 with 128-pixel crops gives 4 crops x 2 mirrors per photo; about 300 KB a photo
(Lite2: 320 KB).
"""

import json
import os
from pathlib import Path

import cv2
import numpy as np

from exemplar.core.color import rgb_to_lab
from exemplar.core.errors import ExemplarError

LEVELS = {"s4": (4, 24), "s8": (8, 40), "s16": (16, 112), "s32": (32, 320)}  # stride, channels (Lite0)
ENCODERS = ("lite0", "lite1", "lite2")


def levels(encoder="lite0"):
    """{"s4": (stride, channels), ...} of a cache built with the ``encoder`` variant."""
    from exemplar.model.encoder import feature_channels

    channels = feature_channels(encoder)
    return {name: (stride, channels[name]) for name, (stride, _) in LEVELS.items()}


def _load_square(path, size):
    """Photo -> (size, size, 3) Lab float32 (shorter side resized to size, centre crop), or None if unreadable."""
    data = np.fromfile(str(path), np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        return None
    height, width = bgr.shape[:2]
    scale = size / min(height, width)
    new = (max(size, round(width * scale)), max(size, round(height * scale)))
    bgr = cv2.resize(bgr, new, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top, left = (new[1] - size) // 2, (new[0] - size) // 2
    rgb = bgr[top : top + size, left : left + size, ::-1].astype(np.float32) / 255.0
    return rgb_to_lab(rgb)


def group_of(path, root):
    """The photo's group: its first folder below ``root`` ("" for a photo directly in it, or outside it)."""
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        return ""
    return parts[0] if len(parts) > 1 else ""


def build_cache(records, out_dir, *, size=160, batch_size=32, encoder="lite0", grey_threshold=4.0, progress=print,
                root=None):
    """Encode every photo of ``records`` ([(path, label)], or a sources.Records) into ``out_dir``.

    encoder: the variant, "lite0", "lite1" or "lite2" (its ImageNet weights are loaded), or an
    encoder model to use (its ``variant`` attribute names it; None: "lite0").
    root: the folder the records were found in; each photo's group is its first folder below it
    (None: every photo in one group "").

    Photos that cannot be read, or whose mean chroma is below ``grey_threshold`` (nothing to learn
    colour from), are skipped and listed in meta.json. Returns the meta dict. The arrays are
    written to ``*.tmp`` names first and renamed at the end: an interrupted build leaves no cache
    that looks complete.
    """
    from data_prep.sources import Records, unwrap

    if size % 32:
        raise ExemplarError(f"cache size {size} must be a multiple of 32")
    class_names = list(records.class_names) if isinstance(records, Records) else []
    records = list(unwrap(records))
    if encoder is None or isinstance(encoder, str):
        variant = encoder or "lite0"
        if variant not in ENCODERS:
            raise ExemplarError(f"unknown encoder {variant!r}; choose one of {', '.join(ENCODERS)}")
        from exemplar.model.encoder import build_encoder

        encoder = build_encoder(variant, include_top=False, weights="imagenet")
    else:
        variant = getattr(encoder, "variant", "lite0")
    level_shapes = levels(variant)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "meta.json").unlink(missing_ok=True)  # rebuilding: no old meta beside new arrays if interrupted
    kept, skipped = [], []
    # Pass 1: which photos are usable (decoding is cheap next to the encoder).
    for path, label in records:
        lab = _load_square(path, size)
        if lab is None:
            skipped.append({"file": str(path), "reason": "unreadable"})
        elif float(np.hypot(lab[..., 1], lab[..., 2]).mean()) < grey_threshold:
            skipped.append({"file": str(path), "reason": "near-grey"})
        else:
            kept.append((str(path), int(label)))
    if not kept:
        raise ExemplarError(f"{out_dir}: no usable colour photos to cache ({len(skipped)} skipped)")
    count = len(kept)
    arrays = {
        name: np.lib.format.open_memmap(out / f"{name}.tmp.npy", "w+", np.float16, (count, 2, size // s, size // s, c))
        for name, (s, c) in level_shapes.items()
    }
    arrays["lab4"] = np.lib.format.open_memmap(out / "lab4.tmp.npy", "w+", np.float16, (count, size // 4, size // 4, 3))
    predict = _encoder_function(encoder)
    for start in range(0, count, batch_size):
        chunk = kept[start : start + batch_size]
        labs = np.stack([_load_square(path, size) for path, _ in chunk])  # (b, size, size, 3)
        grey = np.repeat(labs[..., :1] * 2.55, 3, axis=-1)  # the encoder's input: L/100 * 255
        both = np.concatenate([grey, grey[:, :, ::-1]])  # (2b, size, size, 3): photos, then mirrors
        features = predict(both)
        for name in LEVELS:
            value = np.asarray(features[name.replace("s", "stride")], np.float32)
            arrays[name][start : start + len(chunk)] = np.stack([value[: len(chunk)], value[len(chunk) :]], 1)
        quarter = (size // 4, size // 4)
        arrays["lab4"][start : start + len(chunk)] = np.stack([cv2.resize(l, quarter, interpolation=cv2.INTER_AREA) for l in labs])
        if progress and (start // batch_size) % 50 == 0:
            progress(f"cached {start + len(chunk)}/{count} photos")
    for name, array in arrays.items():
        array.flush()
        del array
    arrays.clear()
    np.save(out / "labels.npy", np.array([label for _, label in kept], np.int32))
    groups = [group_of(path, root) if root is not None else "" for path, _ in kept]
    group_names = sorted(set(groups))
    np.save(out / "groups.npy", np.array([group_names.index(g) for g in groups], np.int32))
    for name in list(LEVELS) + ["lab4"]:
        os.replace(out / f"{name}.tmp.npy", out / f"{name}.npy")
    meta = {"size": size, "count": count, "encoder": variant, "class_names": class_names, "group_names": group_names,
            "files": [p for p, _ in kept], "skipped": skipped}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def _encoder_function(encoder):
    import tensorflow as tf

    return tf.function(lambda images: encoder(images, training=False), reduce_retracing=True)


class FeatureCache:
    """Read a cache written by :func:`build_cache` (memory-mapped: nothing is loaded up front)."""

    def __init__(self, folder):
        folder = Path(folder)
        try:
            self.meta = json.loads((folder / "meta.json").read_text())
            self.arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in list(LEVELS) + ["lab4"]}
            self.labels = np.load(folder / "labels.npy")
        except (OSError, ValueError) as error:
            raise ExemplarError(f"{folder}: not a complete feature cache ({error}); build it with "
                                "python -m data_prep cache") from error
        self.folder = folder
        self.size = int(self.meta["size"])
        self.encoder = self.meta.get("encoder", "lite0")  # caches built before the key: Lite0 only existed
        self.class_names = list(self.meta["class_names"])
        # Caches built before groups existed: one group holding every photo.
        groups_path = folder / "groups.npy"
        self.groups = np.load(groups_path) if groups_path.exists() else np.zeros(len(self.labels), np.int32)
        self.group_names = list(self.meta.get("group_names", [""]))

    def __len__(self):
        return len(self.labels)

    def crop(self, index, mirror, top, left, cells, levels=("s4", "s8", "s16", "s32")):
        """Photo ``index`` (its mirror image if ``mirror``), crop of ``cells`` stride-32 cells at
        cell offset (top, left) -> dict of float32 features and ``lab4`` (Lab, mirrored to match)."""
        out = {}
        for name in levels:
            per_cell = 32 // LEVELS[name][0]
            rows = slice(top * per_cell, (top + cells) * per_cell)
            cols = slice(left * per_cell, (left + cells) * per_cell)
            out[name] = np.asarray(self.arrays[name][index, int(mirror), rows, cols], np.float32)
        lab = np.asarray(self.arrays["lab4"][index], np.float32)
        if mirror:
            lab = lab[:, ::-1]
        out["lab4"] = lab[top * 8 : (top + cells) * 8, left * 8 : (left + cells) * 8]
        return out
