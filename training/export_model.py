"""Turn a training run's generator checkpoint into a shippable model folder.

    python -m training.export_model RUN_DIR OUT_DIR [--checkpoint best|last|epoch012]
    python -m training.export_model RUN_DIR OUT_DIR --checkpoint epoch036,epoch040,epoch044

Several comma-separated checkpoints are averaged weight by weight (Izmailov et al. 2018, "Averaging
weights leads to wider optima"): the ColorNet has no batch statistics to re-estimate (GroupNorm only),
so the average is a model as it stands.

Writes OUT_DIR/default.npz (the generator's own weights, no encoder) and OUT_DIR/default.json
(constructor arguments plus what the run was: preset, steps, losses), the files
``exemplar colorize --method net --weights OUT_DIR`` and the packaged model use.
"""

import csv
import json
from pathlib import Path

import click


def export(run_dir, out_dir, checkpoint="best"):
    """Load ``RUN_DIR/checkpoints/generator_<checkpoint>.weights.h5`` and save it as a model folder.

    checkpoint: one name, or several joined by commas, whose weights are averaged."""
    import keras

    import exemplar.model.encoder  # noqa: F401  (registers EfficientNetLite0 for deserialisation)
    import exemplar.model.color_net  # noqa: F401  (registers ColorNet and the layers it imports)
    from exemplar.model.color_net_weights import save_color_net

    run_dir = Path(run_dir)
    folder = run_dir / "checkpoints"
    config = json.loads((folder / "generator_config.json").read_text())
    generator = keras.saving.deserialize_keras_object(config)
    names = [name.strip() for name in checkpoint.split(",")]
    total = None
    for name in names:
        generator.load_weights(folder / f"generator_{name}.weights.h5")
        values = [v.numpy().astype("float64") for v in generator.weights]
        total = values if total is None else [t + v for t, v in zip(total, values)]
    if len(names) > 1:
        for variable, value in zip(generator.weights, total):
            variable.assign((value / len(names)).astype(variable.dtype))
    with open(run_dir / "log.csv", newline="") as handle:
        log = list(csv.DictReader(handle))
    run_config = json.loads((run_dir / "config.json").read_text())
    last_name = names[-1]  # training length: the latest checkpoint in the average
    if last_name.startswith("epoch"):
        epochs = int(last_name[len("epoch"):])
    elif last_name == "best":
        epochs = json.loads((folder / "best.json").read_text())["epoch"]
    else:  # last
        epochs = len(log)
    info = {
        "preset": run_config.get("preset"),
        "checkpoint": checkpoint,  # "epoch036,epoch040": the average of those
        "epochs_run": len(log),
        "epochs": epochs,
        "steps": epochs * run_config["train"]["steps_per_epoch"],
        "batch_size": run_config["train"]["batch_size"],
        "image_size": run_config["data"]["image_size"],
        "losses_by_epoch": [{k: round(float(v), 4) for k, v in row.items() if v not in ("", "NA") and k != "epoch"} for row in log],
    }
    save_color_net(generator, out_dir, info=info)
    return info


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--checkpoint", default="best", show_default=True,
              help="Which generator checkpoint: best, last, or epochNNN (e.g. epoch012); "
                   "several joined by commas are averaged.")
def main(run_dir, out_dir, checkpoint):
    """Export RUN_DIR's generator to OUT_DIR as default.npz + default.json."""
    info = export(run_dir, out_dir, checkpoint)
    click.echo(f"exported {checkpoint} ({info['steps']} steps) to {out_dir}")


if __name__ == "__main__":
    main()
