"""Shard photos into TFRecord files, and read the shards back for the training pipeline.

Decoding big JPEGs is the slow part of training input; sharding does it once: each photo is
decoded, checked (corrupt and near-grey photos are skipped and reported), shrunk so its shorter
side is at most ``size`` and stored as JPEG with its label (layout: ``ops.SHARD_FEATURES``).
``dataset.json`` beside the shards keeps the class names, counts and skipped files.
"""

import dataclasses
import json
import os
import random
from pathlib import Path

import tensorflow as tf

from data_prep import ops
from data_prep.sources import Records, check_images, unwrap
from exemplar.core.errors import ExemplarError

INFO_FILE = "dataset.json"
SHARD_SUFFIX = ".tfrecord"


@dataclasses.dataclass
class ShardReport:
    """What ``write_shards`` did: the shard files, per-class counts and the skipped files."""

    shards: list
    class_names: list
    written: int
    per_class: dict  # class name (or "unlabelled") -> count
    corrupt: list
    grey: list

    def summary(self):
        lines = [
            f"wrote {self.written} photos into {len(self.shards)} shards; "
            f"skipped {len(self.corrupt)} corrupt, {len(self.grey)} near-grey"
        ]
        lines += [f"  {name}: {count}" for name, count in sorted(self.per_class.items())]
        lines += [f"  skipped corrupt: {name}" for name in self.corrupt]
        lines += [f"  skipped near-grey: {name}" for name in self.grey]
        return "\n".join(lines)


def _example(jpeg, label, name):
    """One serialized tf.train.Example in the ``ops.SHARD_FEATURES`` layout."""
    feature = {
        "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[jpeg])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
        "name": tf.train.Feature(bytes_list=tf.train.BytesList(value=[name.encode()])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_shards(
    examples, class_names, out_dir, *, num_shards, size, grey_threshold=4.0, quality=95, seed=0, relative_to=None
):
    """Write ``examples`` into ``num_shards`` TFRecord files in ``out_dir`` -> ShardReport.

    examples: [(path, label)] (e.g. from ``sources.image_folder``; shuffled with ``seed`` first so
    every shard mixes the classes) or a dataset of {image_bytes, label, name} (e.g. from
    ``sources.places365``). Photos are shrunk to a shorter side of at most ``size`` pixels.
    Names stored (and reported) for files are relative to ``relative_to`` (default: the files'
    common folder).
    """
    if num_shards < 1 or size < 1:
        raise ExemplarError(f"--shards and --size must be positive, got {num_shards} and {size}")
    examples = unwrap(examples)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    old = sorted(out_dir.glob(f"*{SHARD_SUFFIX}"))
    if old:
        raise ExemplarError(f"{out_dir}: already holds shards ({old[0].name}, ...); choose an empty folder")
    if isinstance(examples, (list, tuple)):
        examples = list(examples)
        if not examples:
            raise ExemplarError("nothing to shard: no photos")
        random.Random(seed).shuffle(examples)
        if relative_to is None:
            relative_to = os.path.commonpath([str(Path(path).parent) for path, _ in examples])
        relative = {str(path): os.path.relpath(path, relative_to) for path, _ in examples}
    else:
        relative = {}

    shards = [str(out_dir / f"shard-{i:05d}-of-{num_shards:05d}{SHARD_SUFFIX}") for i in range(num_shards)]
    report = ShardReport(shards=shards, class_names=list(class_names), written=0, per_class={}, corrupt=[], grey=[])
    writers = [tf.io.TFRecordWriter(path) for path in shards]
    try:
        checked = check_images(examples, size=size, grey_threshold=grey_threshold, quality=quality)
        for status, name, label, jpeg in checked:
            name = relative.get(name, name)
            if status != "ok":
                getattr(report, status).append(name)
                continue
            writers[report.written % num_shards].write(_example(jpeg, label, name))  # round robin
            report.written += 1
            key = class_names[label] if label >= 0 else "unlabelled"
            report.per_class[key] = report.per_class.get(key, 0) + 1
    finally:
        for writer in writers:
            writer.close()
    info = {
        "class_names": list(class_names),
        "num_examples": report.written,
        "per_class": report.per_class,
        "max_size": size,
        "shards": [Path(path).name for path in shards],
        "skipped": {"corrupt": report.corrupt, "grey": report.grey, "grey_threshold": grey_threshold},
    }
    (out_dir / INFO_FILE).write_text(json.dumps(info, indent=1))
    return report


def shard_files(location):
    """A shard folder or glob pattern -> sorted list of shard paths (raises if none)."""
    location = str(location)
    pattern = str(Path(location) / f"*{SHARD_SUFFIX}") if Path(location).is_dir() else location
    files = sorted(tf.io.gfile.glob(pattern))
    if not files:
        raise ExemplarError(f"{location}: no TFRecord shards ({SHARD_SUFFIX}) found")
    return files


def read_info(location):
    """The ``dataset.json`` of a shard folder (or of the folder of a glob pattern) as a dict."""
    folder = Path(location) if Path(location).is_dir() else Path(shard_files(location)[0]).parent
    path = folder / INFO_FILE
    if not path.is_file():
        raise ExemplarError(f"{path}: missing; shards must be written by `python -m data_prep shard`")
    return json.loads(path.read_text())


def read_class_names(location):
    """Class names of the shards at ``location`` (folder or glob pattern)."""
    return read_info(location)["class_names"]


def load_shards(location):
    """Shards written by ``write_shards`` -> Records(location as str, class_names) for make_dataset."""
    shard_files(location)  # raises early if there are none
    return Records(str(location), read_class_names(location))


def read_shards(location, *, shuffle_files=False, seed=0, repeat=False):
    """Shards -> tf.data.Dataset of {image_bytes: JPEG string, label: int32, name: string}.

    Order: (shuffled) file list, repeat, then an interleave reading several files at once.
    """
    files = shard_files(location)
    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shuffle_files:
        dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(files), 8),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    parse = ops.parse_shard()
    return dataset.map(lambda serialized: parse({"serialized": serialized}), num_parallel_calls=tf.data.AUTOTUNE)
