"""The training input pipeline: photos -> batches of (target, reference) pairs in normalised Lab.

    records --shuffle--> repeat --> map(decode, shrink, chroma) --> drop corrupt --> filter(grey)
            --> pair_up (--> small shuffle) --> map(make_pair) --> batch(drop_remainder) --> prefetch

Every element is {target_l (B,S,S,1), target_ab (B,S,S,2), reference_l (B,R,R,1),
reference_ab (B,R,R,2), label (B,) int32, pair_kind (B,) int32}; see ``pairs.make_pair``.
Corrupt and near-grey photos are dropped without stopping the pipeline; ``sources.scan_images``
(or the shard report) tells which and how many.
"""

import tensorflow as tf

from data_prep import ops, pairs
from data_prep.sources import records_dataset, unwrap
from data_prep.tfrecords import read_shards


def _source(records, *, training, seed, repeat, shuffle_buffer):
    """Records -> (shuffled, repeated) dataset of {path | image_bytes, label, name}."""
    records = unwrap(records)
    if isinstance(records, tf.data.Dataset):  # e.g. sources.places365: a stream of encoded photos
        dataset = records
        if training:
            dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        return dataset.repeat() if repeat else dataset
    if isinstance(records, (str, bytes)) or hasattr(records, "__fspath__"):  # TFRecord shards
        dataset = read_shards(records, shuffle_files=training, seed=seed, repeat=repeat)
        # Shards hold a fixed order: mix photos of the files being read.
        return dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True) if training else dataset
    dataset = records_dataset(list(records))  # [(path, label)]: shuffle the whole file list
    if training:
        dataset = dataset.shuffle(len(records), seed=seed, reshuffle_each_iteration=True)
    return dataset.repeat() if repeat else dataset


def make_dataset(
    records,
    *,
    image_size,
    reference_size,
    batch_size,
    same_class_fraction=0.0,
    self_augment=None,
    training=True,
    seed=0,
    repeat=True,
    grey_threshold=4.0,
    shuffle_buffer=1024,
):
    """Batches of training pairs from ``records`` -> tf.data.Dataset.

    records: a ``sources.Records`` (from ``sources.image_folder``, ``sources.places365`` or
    ``tfrecords.load_shards``) or its ``records``: [(path, label)]; a TFRecord shard folder or glob
    pattern (str or Path); or a dataset of {image_bytes, label, name}.
    image_size S / reference_size R: square sides of target and reference crops.
    same_class_fraction: share of labelled photos paired with another photo of their class (the
    rest, and unlabelled photos, get a self-augmented reference).
    self_augment: how self-augmented references are made: keyword arguments of
    ``pairs.self_reference`` (crop_min, hue, saturation); None keeps its defaults.
    training: random target crops + flips and shuffling; otherwise central crops, input order.
    seed: fixes shuffling and every random op (same seed, same batches).
    repeat: loop forever (training) or stop after one pass (drop_remainder drops the tail).
    """
    if not 0.0 <= same_class_fraction <= 1.0:
        raise ValueError(f"same_class_fraction must be in [0, 1], got {same_class_fraction}")
    # 1-2. Shuffle (the file list), repeat.
    dataset = _source(records, training=training, seed=seed, repeat=repeat, shuffle_buffer=shuffle_buffer)

    # Per-example seed for the stateless random ops: (seed, position in the stream).
    def with_rng(index, example):
        return {**example, "rng": tf.stack([tf.constant(seed, tf.int64), index])}

    dataset = dataset.enumerate().map(with_rng)
    # 3. Decode and shrink to the working size (shorter side = max(S, R)); a corrupt photo
    # raises in this map and ignore_errors drops it. Later stages are kept out of this map
    # so that errors there are not silently swallowed.
    prepare = ops.compose(ops.decode(), ops.resize_shorter(max(image_size, reference_size)), ops.mean_chroma())
    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    # 4. Drop near-grey photos: nothing to learn colour from.
    dataset = dataset.filter(ops.is_colourful(grey_threshold))
    # 5. Pair each photo with a reference: itself (augmented) or another photo of its class.
    dataset = pairs.pair_up(dataset, same_class_fraction)
    if training and same_class_fraction > 0:
        # pair_up emits the two photos of a same-class pair back to back: spread them over batches.
        dataset = dataset.shuffle(32, seed=seed)
    make_pair = pairs.make_pair(image_size, reference_size, training=training, self_augment=self_augment)
    dataset = dataset.map(make_pair, num_parallel_calls=tf.data.AUTOTUNE)
    # 6. Batch with static shapes (needed by tf.distribute and XLA), 7. prefetch.
    dataset = dataset.batch(batch_size, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE)
