"""``exemplar batch PAIRS.csv | FOLDER``: many targets with the models loaded once per worker.

``--engine loop`` (default) runs every row in this process, as batch always did; ``--engine ray``
runs them on a pool of Ray Data workers, on this machine or a Ray cluster (exemplar/scale/).
Either way: finished outputs are skipped, outputs are written atomically, bad rows are reported
(with ``--report``, to a CSV of row,file,reason) and the exit status is 1 if any row failed.
"""

import click

from exemplar.cli.options import colorizer_options, user_errors

MAX_LISTED = 50  # failed rows printed on the terminal when a report file lists them all


@click.command()
@click.argument("source", type=click.Path(exists=True))
@click.option("--out-dir", type=click.Path(file_okay=False),
              help="For a FOLDER: write the colorized photos here, same sub-folders and file names.")
@click.option("-r", "--reference", "references", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="For a FOLDER: colour reference(s) for every photo (repeatable); none: automatic (--method net).")
@click.option("--overwrite", is_flag=True, help="Replace outputs that exist (they are skipped otherwise).")
@click.option("--engine", default="loop", show_default=True, type=click.Choice(["loop", "ray"]),
              help="'loop': one photo after another in this process; 'ray': a pool of workers on Ray Data, "
                   "here or on a Ray cluster (pip install \"exemplar[scale]\").")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="For --engine ray: number of workers, each loading the models once "
                   "[default: the CPUs (this machine's or the cluster's) / --worker-cpus].")
@click.option("--worker-cpus", type=click.IntRange(min=1), default=None,
              help="For --engine ray: CPU threads per worker [default: this machine's cores split "
                   "between the workers; 1 on a cluster].")
@click.option("--ray-address", default=None, metavar="ADDRESS",
              help="For --engine ray: the Ray cluster to join ('auto' on one of its nodes) "
                   "[default: $RAY_ADDRESS (set by `ray job submit`), else a local Ray started for this run].")
@click.option("--report", type=click.Path(dir_okay=False), default=None,
              help="Write the failed rows to this CSV (row,file,reason) [default with --engine ray: "
                   "NAME.report.csv beside NAME.csv, or OUT_DIR/batch_report.csv for a folder].")
@colorizer_options
def batch(source, out_dir, references, overwrite, engine, workers, worker_cpus, ray_address, report,
          method, weights, follow_reference, size, strength, max_megapixels):
    """Colorize every row of SOURCE: a CSV (columns target,reference,output; an empty reference:
    automatic) or a FOLDER of photos at any depth (with --out-dir; references from -r, or automatic).

    Keeps going past bad rows, reports each failure with its row number, and exits with
    status 1 if any row failed. Rows whose output exists are skipped unless --overwrite.
    """
    import os
    from pathlib import Path

    from exemplar.core.errors import ExemplarError
    from exemplar.scale.job import jobs_from_csv, jobs_from_folder
    from exemplar.scale.report import Outcome, Report
    from exemplar.scale.runner import ColorizerSettings

    folder = Path(source).is_dir()
    if folder and not out_dir:
        raise click.UsageError("a FOLDER needs --out-dir (where the colorized photos go)")
    if not folder and (out_dir or references):
        raise click.UsageError("--out-dir and --reference are for a FOLDER; a CSV names them in its rows")
    if engine == "loop" and (workers or worker_cpus or ray_address):
        raise click.UsageError("--workers, --worker-cpus and --ray-address are for --engine ray")
    if folder and method == "match" and not references:
        raise click.UsageError("--method match needs --reference for a FOLDER (automatic needs --method net)")
    with user_errors():
        jobs = jobs_from_folder(source, out_dir, references) if folder else jobs_from_csv(source)
    if report is None and engine == "ray":
        report = Path(out_dir) / "batch_report.csv" if folder else Path(source).with_suffix(".report.csv")

    context = click.get_current_context()
    weights = os.path.abspath(weights) if weights else None  # Ray workers may run in another folder
    settings = ColorizerSettings(method=method, size=size, max_pixels=int(max_megapixels * 1e6), weights=weights,
                                 follow_reference=follow_reference, vividness=context.meta.get("exemplar.vividness"),
                                 strength=strength, overwrite=overwrite)
    tally = Report()
    if not overwrite:  # finished rows never reach an engine: a rerun after a crash starts no worker for them
        for job in jobs:
            if os.path.exists(job.output):
                tally.add(Outcome(job.row, "skipped", job.output))
        jobs = [job for job in jobs if job.row not in tally.seen]
    with user_errors():
        runner = _engine(engine, settings, workers, worker_cpus, ray_address) if jobs else None
    stopped = None
    with click.progressbar(length=len(jobs), label="colorizing", file=click.get_text_stream("stderr")) as bar:
        def on_outcome(outcome):
            tally.add(outcome)
            for note in outcome.warnings:
                click.echo(f"warning: {note}", err=True)
            bar.update(1)

        try:
            if runner is not None:
                runner.run(jobs, on_outcome)
        except ExemplarError as error:  # the engine itself stopped (no worker could start, cluster lost)
            stopped = error
            tally.add_lost(jobs, f"not run: {error}")  # rows never reported still go to the report
        finally:
            if runner is not None:
                runner.close()
    click.echo(tally.summary())
    failures = sorted(tally.failures, key=lambda o: o.row)
    shown = failures if report is None else failures[:MAX_LISTED]  # an archive's failures go to the report
    for failure in shown:
        click.echo(f"error: row {failure.row}: {failure.message}", err=True)
    if len(shown) < len(failures):
        click.echo(f"error: ... and {len(failures) - len(shown)} more rows, all in the report", err=True)
    if report is not None:
        tally.write(report)
        click.echo(f"report: {report} ({len(tally.failures)} failed rows)", err=True)
    if stopped is not None:
        raise click.ClickException(str(stopped))
    if tally.failures:
        raise SystemExit(1)


def _engine(name, settings, workers, worker_cpus, ray_address):
    """Build the engine; the loop loads its models here (the Ray workers load theirs when they start)."""
    if name == "ray":
        from exemplar.scale.ray_engine import RayEngine

        return RayEngine(settings, workers=workers, worker_cpus=worker_cpus, address=ray_address)
    from exemplar.scale.loop_engine import LoopEngine

    return LoopEngine(settings)
