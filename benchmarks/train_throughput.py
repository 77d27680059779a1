"""Training throughput (images/s) and peak memory of a preset, on a folder of photos.

Measures, for the same data and model as ``exemplar train``:
- input pipeline alone: images/s of the training dataset (with ``--cache``: pairs cut from the
  feature cache, data_prep.cached_pairs; without: data_prep.make_dataset decoding photos);
- training: one ColorizationGAN.fit of a warm-up step (tf.function tracing) then N timed steps,
  images/s = N * batch / seconds (the pipeline runs concurrently, as in real training);
- peak resident memory of the process (ru_maxrss).
TensorFlow's CPU runtime is set up as ``exemplar train`` does (training/cpu_runtime.py: pooling allocator,
oneDNN kernels); set TF_CPU_ALLOCATOR_USE_BFC=false / TF_ENABLE_ONEDNN_OPTS=0 to measure without.

    python benchmarks/train_throughput.py [FOLDER] [--cache DIR] [--preset cpu] [--steps 20]
                                          [--batch-size N] [--set key=value ...] [--json FILE]

FOLDER defaults to ../shared/data/train relative to the repository root.
"""

import argparse
import json
import os
import pathlib
import resource
import sys
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run from a checkout without installing the package

DEFAULT_FOLDER = REPO_ROOT.parent / "shared" / "data" / "train"


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def load_training_data(config):
    """(train dataset, number of classes) exactly as ``exemplar train`` builds them for ``config``."""
    from training import run

    if config.data.cache_dir:
        train_ds, cache = run.load_cached_data(config, config.data.seed)
        return train_ds, len(cache.class_names)
    train_ds, _, _, num_classes = run.load_data(config, config.data.seed)
    return train_ds, num_classes


def timed_fit(model, train_ds, steps):
    """One fit() of a warm-up step + ``steps`` timed steps -> (history, warm-up s, timed s).

    Each step's end is stamped by a callback: a second fit() would pay for a new iterator and train
    function (seconds), which a long run pays once.
    """
    import keras

    stamps = []
    stamp = keras.callbacks.LambdaCallback(on_train_batch_end=lambda step, logs: stamps.append(time.perf_counter()))
    warm = time.perf_counter()
    history = model.fit(train_ds, epochs=1, steps_per_epoch=steps + 1, verbose=0, shuffle=False,
                        callbacks=[stamp]).history
    return history, stamps[0] - warm, stamps[-1] - stamps[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(DEFAULT_FOLDER), help="image folder (sub-folders = classes)")
    parser.add_argument("--cache", default=None, help="feature cache (python -m data_prep cache FOLDER DIR): what the cpu preset trains from")
    parser.add_argument("--preset", default="cpu", help="training preset (tiny, cpu, gpu, places365)")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps after the warm-up step")
    parser.add_argument("--batch-size", type=int, default=None, help="override train.batch_size")
    parser.add_argument("--set", dest="assignments", action="append", default=[], help="config override key=value")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args()

    from training import cpu_runtime

    cpu_runtime.configure()  # as ``exemplar train``: TensorFlow's CPU allocator and kernels, before it starts
    import keras
    import tensorflow as tf

    from training import config as config_lib
    from training import run

    overrides = ["data.source=folder", f"data.data_dir={args.folder}"] + args.assignments
    if args.cache:
        overrides.append(f"data.cache_dir={args.cache}")
    if args.batch_size:
        overrides.append(f"train.batch_size={args.batch_size}")
    config = config_lib.override(config_lib.preset(args.preset), overrides)
    config_lib.check(config)
    batch = config.train.batch_size
    keras.utils.set_random_seed(config.train.seed)
    run.apply_precision(config)  # as exemplar train sets it

    start = time.perf_counter()
    train_ds, num_classes = load_training_data(config)
    iterator = iter(train_ds)
    next(iterator)  # pipeline start-up (file listing, first decode) not counted
    pipeline_start = time.perf_counter()
    pipeline_batches = max(args.steps, 10)
    for _ in range(pipeline_batches):
        next(iterator)
    pipeline_seconds = time.perf_counter() - pipeline_start
    del iterator

    strategy = run.make_strategy(config.train.strategy)
    with strategy.scope():
        model = run.compile_model(run.build_model(config, num_classes), config)
    build_seconds = time.perf_counter() - start

    history, warmup_seconds, train_seconds = timed_fit(model, train_ds, args.steps)

    results = {
        "preset": config.preset,
        "folder": args.folder,
        "image_size": config.data.image_size,
        "reference_size": config.data.reference_size,
        "batch_size": batch,
        "width": config.model.width,
        "encoder": config.model.encoder_weights or "random",
        "features": "cached" if config.data.cache_dir else "encoder in the loop",
        "replicas": strategy.num_replicas_in_sync,
        "devices": [d.name for d in tf.config.list_logical_devices()],
        "generator_parameters": model.generator.count_params(),
        "trainable_generator_parameters": int(sum(v.numpy().size for v in model.generator.trainable_variables)),
        "discriminator_parameters": model.discriminator.count_params(),
        "pipeline_images_per_s": round(pipeline_batches * batch / pipeline_seconds, 1),
        "build_s": round(build_seconds, 1),
        "warmup_step_s": round(warmup_seconds, 1),
        "steps": args.steps,
        "train_s": round(train_seconds, 1),
        "s_per_step": round(train_seconds / args.steps, 3),
        "train_images_per_s": round(args.steps * batch / train_seconds, 2),
        "peak_rss_mib": round(peak_rss_mib()),
        "runtime": {name: os.environ.get(name) for name in cpu_runtime.DEFAULTS},
        "last_losses": {key: round(values[-1], 4) for key, values in history.items()},
    }
    for key, value in results.items():
        print(f"{key:32s} {value}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
