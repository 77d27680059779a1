"""``RayEngine``: the batch as a Ray Data pipeline, on this machine or on a Ray cluster.

Why Ray Data (measured on this project's pinned stack, TensorFlow 2.21 / protobuf 7 / pyarrow 26):
``pip install "ray[data]"`` adds packages and changes none of the pinned ones, and runs locally with
no cluster (``ray.init`` starts one on the fly); Apache Beam 2.77 installs too but downgrades
protobuf to 6.x, pyarrow and Pillow (it caps protobuf < 7), which puts the TensorFlow stack on
versions the project does not otherwise run. See setup.cfg's ``scale`` extra.

The pipeline is ``from_items(jobs) -> map(worker, ActorPoolStrategy(size=workers))``:
- each actor builds one :class:`~exemplar.scale.runner.JobRunner` in its constructor, so the
  models load once per worker (Ray's stateful-transform pattern for batch inference);
- actors pull small blocks of rows (at most 2 queued each: one running, one ready), so fast and
  slow photos balance out across workers instead of being split up front;
- workers write the outputs themselves (atomic, skipping finished ones) and send back only a small
  outcome record per row; the driver never holds an image;
- a block lost with a dead worker does not abort the run (``max_errored_blocks = -1``): its rows
  never come back, and the driver reports every such row as failed (or done, where its atomic
  output exists), so no row is dropped silently.

Paths travel as strings: on a cluster every node must see inputs and outputs at the same paths
(a shared or network file system), and must have exemplar installed.
"""

import logging
import os
import warnings

from exemplar.core.errors import ExemplarError
from exemplar.scale.job import Job
from exemplar.scale.report import Outcome
from exemplar.scale.runner import JobRunner

LOST = ("lost: the worker running this row stopped (crashed, killed or out of memory) before reporting "
        "it; see the Ray logs, then rerun (finished outputs are skipped)")
MAX_ROWS_PER_BLOCK = 64  # a block runs on one actor: small enough to balance, big enough to be cheap


class _ColorizeRows:
    """The Ray Data actor: one JobRunner per actor process (the models load once), one call per row."""

    def __init__(self, settings, threads):
        self.runner = JobRunner(settings, threads=threads)

    def __call__(self, record):
        return self.runner.run(Job.from_record(record)).to_record()


class RayEngine:
    """Run jobs on ``workers`` Ray actors of ``worker_cpus`` CPUs each.

    address: a Ray cluster to join (``auto`` on one of its nodes; ``ray job submit`` sets
    ``RAY_ADDRESS``); None: ``RAY_ADDRESS`` from the environment, else a Ray started on this
    machine for this run and stopped after it.
    workers: None: all the CPUs (this machine's, or the cluster's) divided by ``worker_cpus``.
    worker_cpus: CPU threads per worker (TensorFlow's and OpenCV's pools); None: this machine's cores
    split between the workers when local, 1 on a cluster.
    """

    name = "ray"

    def __init__(self, settings, workers=None, worker_cpus=None, address=None):
        if workers is not None and workers < 1 or worker_cpus is not None and worker_cpus < 1:
            raise ExemplarError(f"--workers and --worker-cpus must be at least 1, got {workers} and {worker_cpus}")
        self.settings = settings
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        cores = os.cpu_count() or 1
        if worker_cpus is None:
            worker_cpus = max(1, cores // workers) if workers and not self.address else 1
        self.worker_cpus = worker_cpus
        self.workers = workers if workers or self.address else max(1, cores // worker_cpus)

    def run(self, jobs, on_outcome):
        """Colorize ``jobs``; ``on_outcome(Outcome)`` is called once per job as results arrive (any order)."""
        # Workers may run in another folder or on another machine: relative paths mean nothing there.
        jobs = [Job(j.row, os.path.abspath(j.target), tuple(os.path.abspath(r) for r in j.references),
                    os.path.abspath(j.output), j.hints) for j in jobs]  # hints were dropped here before
        if not jobs:
            return
        ray = _import_ray()
        started = self._start(ray)
        try:
            workers = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1)) // self.worker_cpus)
            context = ray.data.DataContext.get_current()
            context.enable_progress_bars = False  # the command prints its own progress
            context.print_on_execution_start = False
            context.max_errored_blocks = -1  # see the module docstring: lost rows are reported, not fatal
            per_block = max(1, min(MAX_ROWS_PER_BLOCK, len(jobs) // (workers * 8)))
            dataset = ray.data.from_items([job.to_record() for job in jobs],
                                          override_num_blocks=-(-len(jobs) // per_block))
            outcomes = _map(ray, dataset, self.settings, workers, self.worker_cpus)
            seen = set()
            try:
                for record in outcomes.iter_rows():
                    outcome = Outcome.from_record(record)
                    seen.add(outcome.row)
                    on_outcome(outcome)
            except ray.exceptions.RayError as error:  # e.g. no worker could start: a bad --weights folder
                raise ExemplarError(f"the Ray run stopped: {_last_line(error)}") from error
            for job in jobs:
                if job.row not in seen:
                    # Outputs are atomic: one that exists is complete (and, without --overwrite, was
                    # not there before: finished rows never reach the engine).
                    done = os.path.exists(job.output) and not self.settings.overwrite
                    on_outcome(Outcome(job.row, "done", job.output) if done
                               else Outcome(job.row, "failed", job.target, LOST, f"{job.target}: {LOST}"))
        finally:
            if started:
                ray.shutdown()

    def _start(self, ray):
        """Connect to the cluster, or start a local Ray sized for the workers; -> whether we started it."""
        if ray.is_initialized():  # e.g. a notebook or a test that already called ray.init()
            return False
        options = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": False}
        if self.address:
            options["address"] = self.address
        else:  # "local": a new Ray of our own, never a cluster that `ray start` left on this machine
            options.update(address="local", num_cpus=self.workers * self.worker_cpus)
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ExemplarError(f"cannot start or reach Ray ({self.address or 'local'}): {_first_line(error)}") from error
        return True

    def close(self):
        """Nothing held between runs: a local Ray is stopped at the end of each :meth:`run`."""


def _map(ray, dataset, settings, workers, worker_cpus):
    """``dataset.map`` on a pool of ``workers`` actors, retrying a block at most twice after a crash.

    Ray Data's actors retry a task forever by default (``max_task_retries=-1``, for preempted
    machines): a row that kills its worker every time (a decoder crash, the OOM killer) would then
    never end the run. Measured on Ray 2.60 with a row that calls ``os._exit``: with 2 retries the
    run ends in 7 s and reports that row lost; with the default it was still retrying after 55 s.
    Ray deprecates these pass-through arguments (removal announced for 2.64); without them the
    run still works, with Ray's default retries.
    """
    options = {"fn_constructor_kwargs": {"settings": settings, "threads": worker_cpus}, "num_cpus": worker_cpus,
               "compute": ray.data.ActorPoolStrategy(size=workers, max_tasks_in_flight_per_actor=2)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # RayDeprecationWarning subclasses it
        try:
            return dataset.map(_ColorizeRows, max_task_retries=2, **options)
        except TypeError:  # a Ray that removed the pass-through arguments
            return dataset.map(_ColorizeRows, **options)


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as error:
        raise ExemplarError('--engine ray needs Ray Data: pip install "exemplar[scale]" (or "ray[data]")') from error
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # per-run "Starting execution" notices
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "progress bars disabled": we do
    return ray


def _last_line(error):
    """A Ray error's cause: its text ends with the remote traceback's last line (the exception)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
