"""``exemplar train``: train the colorization GAN on an image folder or Places365 (TFDS)."""

import click

from exemplar.cli.options import user_errors


@click.command()
@click.option(
    "--preset",
    # the names of training.config.PRESETS, spelled out so --help imports nothing heavy (a test keeps them equal)
    type=click.Choice(["tiny", "cpu", "gpu", "places365"]),
    default=None,
    help="Starting configuration: 'tiny' (seconds, for tests), 'cpu' (the default model's recipe, "
    "128 px on 2 cores; used when neither this nor a resumable run is given), 'gpu' (one large GPU: "
    "224 px crops of a 256 px feature cache, batch 64, bfloat16), 'places365' (GPUs, 256 px, mixed precision).",
)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Image folder to train on; sub-folders are classes (photos directly inside are unlabelled).",
)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False),
    required=True,
    help="Output folder: config.json, checkpoints/, samples/, logs/, log.csv, backup/. An interrupted run in it is resumed.",
)
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Number of epochs (overrides train.epochs).")
@click.option(
    "--steps-per-epoch", type=click.IntRange(min=1), default=None, help="Training steps per epoch (overrides train.steps_per_epoch)."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Global batch size, split over the devices (overrides train.batch_size).",
)
@click.option(
    "--set",
    "assignments",
    metavar="KEY=VALUE",
    multiple=True,
    help="Override any config field, e.g. --set optim.lr=1e-4 --set train.mixed_precision=true (repeatable; applied last).",
)
@click.option(
    "--places365-data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Train on Places365 from this TFDS data_dir (already prepared; nothing is downloaded) instead of --data.",
)
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), default=None,
              help="Train from this frozen-encoder feature cache (python -m data_prep cache PHOTOS DIR): "
                   "no decoding and no encoder in the loop, about 10x faster on a CPU.")
@click.option("--classes", default=None, help="Comma-separated class names to keep, e.g. forest,sea (default: all).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use at most N photos.")
def train(
    preset, data_dir, run_dir, epochs, steps_per_epoch, batch_size, assignments, places365_data_dir, cache_dir,
    classes, limit
):
    """Train the colour network (ColorNet on the frozen encoder) against a patch discriminator.

    Writes the resolved config to RUN_DIR/config.json, generator weights per epoch and the best
    one to RUN_DIR/checkpoints/, a sample sheet per epoch to RUN_DIR/samples/, TensorBoard logs
    (if tensorboard is installed) and log.csv. Rerunning the same command after an interruption resumes from
    RUN_DIR/backup.
    """
    import os
    import sys

    from exemplar.core.quiet_tensorflow import import_tensorflow_quietly
    from training import cpu_runtime

    cpu_runtime.configure()  # pooling allocator and oneDNN kernels: read when TensorFlow starts
    import_tensorflow_quietly()
    with user_errors():
        from training import config as config_lib
        from training import run

        saved = run.resume_config(run_dir)
        if saved is not None:
            click.echo(f"resuming the interrupted run in {run_dir} (preset {saved.preset}, its config.json)")
            if preset is not None and preset != saved.preset:
                click.echo(f"note: --preset {preset} ignored, the run keeps its own config", err=True)
            config = saved
        else:
            config = config_lib.preset(preset or "cpu")
        options = []
        if data_dir is not None:
            options += ["data.source=folder", f"data.data_dir={data_dir}"]
        if places365_data_dir is not None:
            options += ["data.source=places365", f"data.places365_data_dir={places365_data_dir}"]
        if cache_dir is not None:
            options.append(f"data.cache_dir={cache_dir}")
        if classes is not None:
            options.append(f"data.classes={classes}")
        if limit is not None:
            options.append(f"data.limit={limit}")
        for key, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch), ("batch_size", batch_size)):
            if value is not None:
                options.append(f"train.{key}={value}")
        config = config_lib.override(config, options + list(assignments))
        config_lib.check(config)
        if not config.train.mixed_precision and cpu_runtime.has_bfloat16() and not _has_gpu():
            click.echo(
                "note: this CPU has bfloat16 instructions: --set train.mixed_precision=true --set "
                "train.precision=mixed_bfloat16 may train faster (1.3-1.5x measured, docs/training.md)",
                err=True,
            )
        verbose = 1 if sys.stdout.isatty() else 2  # a progress bar for people, a line per epoch in logs
        _, history = run.train(config, run_dir, verbose=verbose)

    last = {key: values[-1] for key, values in history.items() if values}
    if last:
        click.echo("last epoch: " + ", ".join(f"{key} {value:.4f}" for key, value in sorted(last.items())))
    click.echo(f"generator checkpoints in {os.path.join(run_dir, 'checkpoints')}; to use the best one:")
    click.echo(f"  python -m training.export_model {run_dir} MODEL_DIR")
    click.echo("  exemplar colorize --method net --weights MODEL_DIR ...")


def _has_gpu():
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))
