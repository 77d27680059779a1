"""``exemplar evaluate``: score a colorization method on a pairs CSV against the colour truth."""

import click

from exemplar.cli.options import user_errors


@click.command()
@click.argument("pairs_csv", metavar="PAIRS.csv", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--method",
    type=click.Choice(["match", "net", "grey"]),
    default="net",
    show_default=True,
    help="Colorizer method; 'grey' returns the grey input unchanged, as a floor to beat.",
)
@click.option(
    "--protocol",
    default="csv",
    show_default=True,
    help="Reference to use: 'csv' = the CSV's reference column (same-class pairs); "
    "'self' = the target's own colour photo mirrored and centre-cropped to 85%; "
    "'auto' = none (automatic colorization, net only); 'palette:NAME' = a built-in palette, e.g. palette:sepia.",
)
@click.option("--size", type=click.IntRange(min=64), default=256, show_default=True, help="Working resolution (pixels) the colorizer runs at.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Evaluate only N pairs, spread evenly over the CSV.")
@click.option("--save", "save_dir", type=click.Path(file_okay=False), default=None, help="Save each colorized output as a PNG under this folder.")
@click.option(
    "--weights",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="For --method net: a model folder from 'python -m training.export_model' (default: the shipped model).",
)
@click.option("--follow-reference", is_flag=True,
              help="For --method net: without the model's learned trust (copy matched reference colours).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON (summary and per-pair metrics) instead of tables.")
def evaluate(pairs_csv, method, protocol, size, limit, save_dir, weights, follow_reference, as_json):
    """Colorize the grey version of each target in PAIRS.csv and compare with its colours.

    PAIRS.csv has a header line 'target,reference[,kind]'; paths are absolute or relative to
    the CSV's folder (or a folder above it). The method sees only each target's luminance.
    Prints, per kind: mean PSNR (dB) and SSIM against the colour truth, colourfulness
    (Hasler-Suesstrunk) of output and truth, ab-histogram intersection of the output with the
    reference and with the truth, and seconds per pair (model loading excluded).
    """
    import json
    import sys

    from exemplar.evaluation import protocols as evaluation
    def progress(i, n, row):
        if sys.stderr.isatty():  # a live counter for people, nothing in logs or pipes
            click.echo(f"\r{i + 1}/{n} pairs", err=True, nl=i + 1 == n)

    kind, _, palette = protocol.partition(":")
    if kind not in evaluation.PROTOCOLS or (kind == "palette") != bool(palette):
        raise click.BadParameter(f"{protocol!r}: use csv, self, auto or palette:NAME", param_hint="--protocol")
    with user_errors():
        pairs = evaluation.read_pairs(pairs_csv)
        from exemplar.core.quiet_tensorflow import import_tensorflow_quietly

        import_tensorflow_quietly()
        run = evaluation.load_method(method, size=size, weights=weights, follow_reference=follow_reference)
        rows = evaluation.evaluate(pairs, run, protocol=protocol, limit=limit, save_dir=save_dir, on_pair=progress)

    summary = evaluation.summarize(rows)
    if as_json:
        report = {"method": method, "protocol": protocol, "size": size, "pairs_csv": str(pairs_csv), "summary": summary, "pairs": rows}
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"method {method}, protocol {protocol}, size {size}, {len(rows)} pairs from {pairs_csv}")
    click.echo(evaluation.summary_table(summary))
    if save_dir is not None:
        click.echo(f"outputs saved under {save_dir}")
