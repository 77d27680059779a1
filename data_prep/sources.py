"""Where training photos come from: an image folder, or Places365 prepared by tensorflow-datasets.

Both return ``Records(records, class_names)``: labelled examples (class index, -1 = unlabelled)
and the sorted class names, with an optional class subset and a per-class limit chosen
deterministically from ``seed``.

- ``image_folder``: records is a plain list of (path, label): cheap to shuffle, count and split.
- ``places365``: records is a ``tf.data.Dataset`` of {image_bytes, label, name} read from the
  TFDS files (see data_prep/README.md for preparing them from the official archives).

``check_images`` / ``scan_images`` decode every photo once and report the corrupt and near-grey
ones, which the training pipeline silently drops.
"""

import dataclasses
import random
import typing
from pathlib import Path

import tensorflow as tf

from data_prep import ops
from data_prep.places365_archives import LAYOUT as PLACES365_LAYOUT
from exemplar.core.errors import ExemplarError

# What tf.io.decode_image reads (first frame of a GIF).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
# The official Places365-Standard 256x256 archives, as tensorflow-datasets names them.
PLACES365_FILES = tuple(PLACES365_LAYOUT)


class Records(typing.NamedTuple):
    """A source's photos and class names; unpacks as ``records, class_names = image_folder(...)``.

    records: [(path, label)] (image folder), a dataset of {image_bytes, label, name} (Places365) or
    a shard folder / glob pattern (``tfrecords.load_shards``); ``make_dataset`` takes any of them,
    or the Records itself.
    """

    records: typing.Any
    class_names: list


def unwrap(records):
    """Records -> its ``records``; anything else unchanged."""
    return records.records if isinstance(records, Records) else records


def _subset(groups, limit, seed):
    """{group: sorted paths} -> {group: at most ``limit`` paths}, a seeded random sample per group.

    The sample is a prefix of a seeded shuffle, so a smaller limit gives a subset of a larger one.
    """
    if limit is None:
        return groups
    if limit < 1:
        raise ExemplarError(f"limit must be a positive number of photos per class, got {limit}")
    out = {}
    for group, paths in groups.items():
        shuffled = list(paths)
        random.Random(f"{seed}/{group}").shuffle(shuffled)  # str seeds hash stably (sha512)
        out[group] = sorted(shuffled[:limit])
    return out


def _class_list(classes):
    """None, "a,b" or an iterable of names -> a list of names, or None for none given (= all)."""
    if isinstance(classes, str):
        classes = classes.split(",")
    classes = [c.strip() for c in classes or () if c.strip()]
    return classes or None


def _choose_classes(available, classes, where):
    """Sorted chosen class names (all for None); unknown names raise with the list of known ones."""
    if classes is None:
        return sorted(available)
    unknown = sorted(set(classes) - set(available))
    if unknown:
        known = ", ".join(sorted(available)[:20]) + (" ..." if len(available) > 20 else "")
        raise ExemplarError(f"{where}: unknown class(es) {', '.join(unknown)}; known: {known}")
    return sorted(set(classes))


def _class_folders(folders):
    """Relative folders holding photos directly -> {folder: class folder or None}.

    A folder all of whose photo-holding sub-folders hold photos directly is a *folder of classes*:
    each of those sub-folders is a class. ``cats/``, ``dogs/`` under the root are classes; in
    ``scenes/{forest,sea}/`` + ``bsds/`` the classes are ``scenes/forest`` and ``scenes/sea``, and
    ``bsds`` (beside ``scenes``, which is not a class) holds unlabelled photos. The outermost class
    on a file's path wins, so photos in sub-folders of a class belong to it. (A class folder that
    holds its photos only in sub-folders looks like a folder of classes, and is taken as one.)
    """
    holding = set()  # every folder with photos at any depth below it (the root is Path("."))
    for folder in folders:
        holding.update([folder, *folder.parents])
    children = {}
    for folder in holding - {Path(".")}:
        children.setdefault(folder.parent, set()).add(folder)
    of_classes = {parent for parent, kids in children.items() if kids <= set(folders)}
    out = {}
    for folder in folders:
        chain = [*reversed(folder.parents), folder][1:]  # from the root's child down to ``folder``
        out[folder] = next((f for f in chain if f.parent in of_classes), None)
    return out


def image_folder(root, *, classes=None, limit=None, seed=0, class_names=None):
    """Find the photos under ``root`` (at any depth) -> Records(records, class_names).

    Sub-folders are classes where the layout says so (see ``_class_folders``): usually each
    sub-folder of ``root`` is a class; a class's name is its path below ``root`` with '/' (e.g.
    ``cats`` or ``scenes/forest``). Other photos, e.g. those directly in ``root``, are unlabelled
    (label -1). Class names are sorted and numbered from 0.
    ``classes``: keep only these class names (unlabelled photos are then dropped);
    ``limit``: at most this many photos per class (and unlabelled), a random sample fixed by
    ``seed``. Hidden files and folders (names starting with '.') are ignored.
    ``class_names``: number the classes by this list instead (e.g. a validation folder labelled
    like the training one: pass the training Records' class_names); classes not in it get -1.
    Returns Records(records=[(path str, label int)] sorted by path, class_names=[str]).
    """
    root = Path(root)
    if not root.is_dir():
        raise ExemplarError(f"{root}: not a folder")
    classes = _class_list(classes)
    files = []  # (path, path relative to root)
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
            files.append((path, relative))
    class_folder = _class_folders({relative.parent for _, relative in files})
    groups = {}  # class name ("" = unlabelled) -> [path]
    for path, relative in files:
        folder = class_folder[relative.parent]
        groups.setdefault(folder.as_posix() if folder else "", []).append(str(path))
    chosen = _choose_classes([g for g in groups if g], classes, root)
    if classes is not None:
        groups = {g: paths for g, paths in groups.items() if g in chosen}
    groups = _subset(groups, limit, seed)
    class_names = chosen if class_names is None else list(class_names)
    label_of = {name: i for i, name in enumerate(class_names)}
    records = sorted((path, label_of.get(group, -1)) for group, paths in groups.items() for path in paths)
    if not records:
        raise ExemplarError(f"{root}: no images ({', '.join(IMAGE_EXTENSIONS)}) found")
    return Records(records, class_names)


def records_dataset(records):
    """[(path, label)] -> tf.data.Dataset of {path: string, label: int32, name: string (= path)}."""
    paths = [str(path) for path, _ in records]
    labels = [int(label) for _, label in records]
    paths = tf.constant(paths, tf.string)
    return tf.data.Dataset.from_tensor_slices({"path": paths, "label": tf.constant(labels, tf.int32), "name": paths})


def prepare_places365(data_dir, manual_dir):
    """Build the TFDS ``places365_small`` files in ``data_dir`` from the official archives in ``manual_dir``.

    Never downloads; does nothing if ``data_dir`` already holds it. The archives are checked first (``places365_archives.check_archives``: present,
    official sizes, expected layout), so a wrong file fails in seconds, not after hashing 31 GB.
    Then reads ~31 GB once (checksums, then the images), in one process: places365_small is not a
    Beam dataset (see ``data_prep/places365_archives.py``).
    """
    import tensorflow_datasets as tfds

    from data_prep.places365_archives import check_archives

    manual_dir = Path(manual_dir)
    builder = tfds.builder("places365_small", data_dir=str(data_dir))
    if builder.is_prepared():  # TFDS would do nothing: no need for the archives at all
        return builder
    check_archives(manual_dir)
    config = tfds.download.DownloadConfig(manual_dir=str(manual_dir))
    try:
        builder.download_and_prepare(download_config=config)
    except ModuleNotFoundError as err:  # tensorflow-datasets' optional preparation dependencies
        problem = f"preparing Places365 needs the Python package {err.name!r}: pip install {err.name}"
        raise ExemplarError(problem) from err
    return builder


def places365(data_dir, *, split="train", classes=None, limit=None, seed=0):
    """Read prepared TFDS ``places365_small`` -> Records(dataset, class_names).

    dataset: tf.data.Dataset of {image_bytes: JPEG string, label: int32 (-1 = none: the test
    split), name: string}, in an order fixed by ``seed`` (the same on every pass, so ``limit`` keeps
    the same photos). ``classes``: keep only these (sorted, renumbered 0..k-1); without it the 365
    names in TFDS order (label ids unchanged). ``limit``: the first ``limit`` photos of each class.
    """
    import tensorflow_datasets as tfds

    builder = tfds.builder("places365_small", data_dir=str(data_dir))
    if not builder.is_prepared():
        raise ExemplarError(
            f"{data_dir}: no prepared places365_small; prepare it from the official archives "
            "(python -m data_prep places365 --manual-dir ..., see data_prep/README.md)"
        )
    all_names = builder.info.features["label"].names
    classes = _class_list(classes)
    if classes is None:
        class_names = list(all_names)
    else:
        class_names = _choose_classes(all_names, classes, f"{data_dir} places365_small")
    if limit is not None and limit < 1:
        raise ExemplarError(f"limit must be a positive number of photos per class, got {limit}")
    # TFDS label id -> our label (-1 = not chosen).
    new_label = {all_names.index(name): i for i, name in enumerate(class_names)}
    table = tf.constant([new_label.get(i, -1) for i in range(len(all_names))], tf.int32)

    read_config = tfds.ReadConfig(shuffle_seed=seed, shuffle_reshuffle_each_iteration=False)
    dataset = builder.as_dataset(
        split=split,
        shuffle_files=True,
        decoders={"image": tfds.decode.SkipDecoding()},  # keep the JPEG bytes; ops.decode decodes
        read_config=read_config,
    )

    def relabel(example):
        label = tf.cast(example["label"], tf.int32)
        label = tf.where(label >= 0, tf.gather(table, tf.maximum(label, 0)), -1)
        return {"image_bytes": example["image"], "label": label, "name": example["filename"]}

    dataset = dataset.map(relabel, num_parallel_calls=tf.data.AUTOTUNE)
    if classes is not None:
        dataset = dataset.filter(lambda example: example["label"] >= 0)
    if limit is not None:
        # Running count per class (slot 0 = unlabelled); keep the first ``limit`` of each.
        def count(counts, example):
            slot = example["label"] + 1
            counts = tf.tensor_scatter_nd_add(counts, [[slot]], [1])
            return counts, (example, counts[slot])

        dataset = dataset.scan(tf.zeros([len(class_names) + 1], tf.int32), count)
        dataset = dataset.filter(lambda example, seen: seen <= limit).map(lambda example, seen: example)
    return Records(dataset, class_names)


@dataclasses.dataclass
class ScanReport:
    """What ``scan_images`` found: usable records, and the names of the skipped files."""

    ok: list
    corrupt: list
    grey: list
    grey_threshold: float = 4.0

    def summary(self):
        lines = [
            f"{len(self.ok)} usable, {len(self.corrupt)} corrupt, "
            f"{len(self.grey)} near-grey (mean chroma < {self.grey_threshold:g}) skipped"
        ]
        lines += [f"  corrupt: {name}" for name in self.corrupt]
        lines += [f"  near-grey: {name}" for name in self.grey]
        return "\n".join(lines)


def check_images(examples, *, size=256, grey_threshold=4.0, quality=None):
    """Decode every example once; yield (status, name, label, jpeg) in input order.

    examples: [(path, label)] or a dataset of {image_bytes, label, name}. status is "ok",
    "corrupt" (cannot be decoded) or "grey" (mean chroma < grey_threshold, measured after shrinking
    the shorter side to at most ``size``). jpeg: with ``quality``, the shrunk photo re-encoded as
    JPEG bytes (None otherwise or when not ok). Runs as a parallel tf.data pipeline.
    """
    examples = unwrap(examples)
    dataset = records_dataset(examples) if isinstance(examples, (list, tuple)) else examples
    stage = [ops.decode(), ops.resize_shorter(size, upscale=False), ops.mean_chroma()]
    if quality is not None:
        stage.append(ops.encode_jpeg(quality))
    decode = ops.compose(*stage)

    def checked(index, example):
        example = decode(example)
        out = {"index": index, "chroma": example["chroma"]}
        if quality is not None:
            out["jpeg"] = example["image_bytes"]
        return out

    # Corrupt files raise inside the map; ignore_errors drops them, so a missing index = corrupt.
    results = dataset.enumerate().map(checked, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    names = dataset.map(lambda example: (example["name"], example["label"]))
    result_iter = iter(results.prefetch(tf.data.AUTOTUNE).as_numpy_iterator())
    pending = next(result_iter, None)
    for index, (name, label) in enumerate(names.as_numpy_iterator()):
        name, label = name.decode(), int(label)
        if pending is None or pending["index"] != index:
            yield "corrupt", name, label, None
            continue
        if pending["chroma"] < grey_threshold:
            yield "grey", name, label, None
        else:
            yield "ok", name, label, pending.get("jpeg")
        pending = next(result_iter, None)


def scan_images(records, *, grey_threshold=4.0, size=256):
    """Check [(path, label)] once -> ScanReport(ok=[(path, label)], corrupt=[path], grey=[path])."""
    report = ScanReport(ok=[], corrupt=[], grey=[], grey_threshold=grey_threshold)
    for status, name, label, _ in check_images(list(unwrap(records)), size=size, grey_threshold=grey_threshold):
        if status == "ok":
            report.ok.append((name, label))
        else:
            getattr(report, status).append(name)
    return report
