"""Training data for the colorizer: photo sources, TFRecord shards and the tf.data pipeline.

    import data_prep

    records = data_prep.image_folder_records("photos/", classes=["beach", "forest"], limit=500)
    print(data_prep.scan_images(records).summary())  # optional: which photos will be skipped
    dataset = data_prep.make_dataset(records, image_size=256, reference_size=256, batch_size=16,
                                     same_class_fraction=0.3)
    len(records.class_names)

Modules: ``sources`` (image folder, Places365, scan), ``ops`` (per-example ops), ``pairs``
(target/reference pairs), ``pipeline`` (``make_dataset``), ``tfrecords`` (shards).
Command line: ``python -m data_prep --help``. Importing this package is cheap: TensorFlow loads
with the submodules, which the functions below import on first use.
"""


def image_folder_records(root, *, classes=None, limit=None, seed=0, class_names=None):
    """An image folder's photos -> sources.Records; see :func:`data_prep.sources.image_folder`."""
    from data_prep import sources

    return sources.image_folder(root, classes=classes, limit=limit, seed=seed, class_names=class_names)


def places365_records(data_dir, *, split="train", classes=None, limit=None, seed=0):
    """Prepared TFDS places365_small -> sources.Records; see :func:`data_prep.sources.places365`."""
    from data_prep import sources

    return sources.places365(data_dir, split=split, classes=classes, limit=limit, seed=seed)


def shard_records(location):
    """TFRecord shards (folder or glob) -> sources.Records; see :func:`data_prep.tfrecords.load_shards`."""
    from data_prep import tfrecords

    return tfrecords.load_shards(location)


def scan_images(records, **kwargs):
    """Which photos are corrupt or near-grey; see :func:`data_prep.sources.scan_images`."""
    from data_prep import sources

    return sources.scan_images(records, **kwargs)


def make_dataset(records, **kwargs):
    """Batches of training pairs; see :func:`data_prep.pipeline.make_dataset`."""
    from data_prep import pipeline

    return pipeline.make_dataset(records, **kwargs)
