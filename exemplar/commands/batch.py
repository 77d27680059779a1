"""``exemplar batch PAIRS.csv``: many targets with the model loaded once."""

import click

from exemplar.commands.options import colorizer_options, make_colorizer, run_job


def read_pairs(csv_path):
    """Rows of a ``target,reference,output`` CSV as (row number, target, [references], output).

    Paths may be absolute or relative to the CSV's folder; several references in one cell are
    separated by ';'; an empty reference cell means automatic colorization. Row numbers count the header as row 1, as a spreadsheet shows them.
    """
    import csv
    from pathlib import Path

    folder = Path(csv_path).parent
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"target", "reference", "output"} - set(reader.fieldnames or [])
        if missing:
            raise click.ClickException(f"{csv_path}: missing column(s) {', '.join(sorted(missing))}; "
                                       "the header must be target,reference,output")
        rows = []
        for number, row in enumerate(reader, start=2):
            refs = [folder / r.strip() for r in (row["reference"] or "").split(";") if r.strip()]
            rows.append((number, folder / (row["target"] or "").strip(), refs, folder / (row["output"] or "").strip()))
    return rows


@click.command()
@click.argument("pairs_csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace outputs that exist (they are skipped otherwise).")
@colorizer_options
def batch(pairs_csv, overwrite, method, weights, follow_reference, size, strength, max_megapixels):
    """Colorize every row of PAIRS_CSV (columns target,reference,output; an empty reference: automatic).

    Keeps going past bad rows, reports each failure with its row number, and exits with
    status 1 if any row failed. Rows whose output exists are skipped unless --overwrite.
    """
    rows = read_pairs(pairs_csv)
    colorizer = make_colorizer(method, size, max_megapixels, weights, follow_reference)
    failures, skipped, done = [], 0, 0
    with click.progressbar(rows, label="colorizing", file=click.get_text_stream("stderr")) as bar:
        for number, target, refs, output in bar:
            if output.exists() and not overwrite:
                skipped += 1
                continue
            try:
                run_job(colorizer, target, refs, output, overwrite=overwrite, strength=strength)
                done += 1
            except click.ClickException as error:
                failures.append(f"row {number}: {error.message}")
    click.echo(f"{done} colorized, {skipped} skipped (output exists), {len(failures)} failed")
    for failure in failures:
        click.echo(f"error: {failure}", err=True)
    if failures:
        raise SystemExit(1)
