"""Turn a training run's generator checkpoint into a shippable model folder.

    python -m training.export_model RUN_DIR OUT_DIR [--checkpoint best|last|epoch012]

Writes OUT_DIR/default.npz (the generator's own weights, no encoder) and OUT_DIR/default.json
(constructor arguments plus what the run was: preset, steps, losses), the files
``exemplar colorize --method net --weights OUT_DIR`` and the packaged model use.
"""

import csv
import json
from pathlib import Path

import click


def export(run_dir, out_dir, checkpoint="best"):
    """Load ``RUN_DIR/checkpoints/generator_<checkpoint>.weights.h5`` and save it as a model folder."""
    import keras

    import exemplar.encoder  # noqa: F401  (registers EfficientNetLite0 for deserialisation)
    import exemplar.net  # noqa: F401  (registers ColorHead and its layers)
    from exemplar.generator_weights import save_generator

    run_dir = Path(run_dir)
    folder = run_dir / "checkpoints"
    config = json.loads((folder / "generator_config.json").read_text())
    generator = keras.saving.deserialize_keras_object(config)
    generator.load_weights(folder / f"generator_{checkpoint}.weights.h5")
    with open(run_dir / "log.csv", newline="") as handle:
        log = list(csv.DictReader(handle))
    run_config = json.loads((run_dir / "config.json").read_text())
    if checkpoint.startswith("epoch"):
        epochs = int(checkpoint[len("epoch"):])
    elif checkpoint == "best":
        epochs = json.loads((folder / "best.json").read_text())["epoch"]
    else:  # last
        epochs = len(log)
    info = {
        "preset": run_config.get("preset"),
        "checkpoint": checkpoint,
        "epochs_run": len(log),
        "epochs": epochs,
        "steps": epochs * run_config["train"]["steps_per_epoch"],
        "batch_size": run_config["train"]["batch_size"],
        "image_size": run_config["data"]["image_size"],
        "losses_by_epoch": [{k: round(float(v), 4) for k, v in row.items() if v not in ("", "NA") and k != "epoch"} for row in log],
    }
    save_generator(generator, out_dir, info=info)
    return info


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--checkpoint", default="best", show_default=True,
              help="Which generator checkpoint: best, last, or epochNNN (e.g. epoch012).")
def main(run_dir, out_dir, checkpoint):
    """Export RUN_DIR's generator to OUT_DIR as default.npz + default.json."""
    info = export(run_dir, out_dir, checkpoint)
    click.echo(f"exported {checkpoint} ({info['steps']} steps) to {out_dir}")


if __name__ == "__main__":
    main()
