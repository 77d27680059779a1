"""``JobRunner``: one worker's colorizer, loaded once, and the per-row rules every engine shares.

Every engine (the in-process loop, each Ray actor) holds exactly one runner: a finished output is
skipped, the row runs as every one-file job does (:func:`exemplar.pipeline.file_job.colorize_file`: output
checked first, written atomically, warnings collected), and every failure becomes an
:class:`Outcome` naming the file and the reason rather than an exception, so a worker keeps going
past bad scans and the driver sees every row.
"""

import os
from dataclasses import dataclass

from exemplar.scale.report import Outcome


@dataclass(frozen=True)
class ColorizerSettings:
    """What builds the colorizer and shapes each job: the ``exemplar batch`` options, picklable.

    Workers receive this instead of a Colorizer: models are built where they run, never pickled.
    """

    method: str = "net"
    size: int = 256
    max_pixels: int = 200_000_000
    weights: str | None = None
    follow_reference: bool = False
    vividness: float | None = None
    strength: float = 1.0
    overwrite: bool = False


class JobRunner:
    """Build the colorizer once (``settings``), then :meth:`run` jobs one at a time.

    threads: CPU threads this worker's TensorFlow and OpenCV may use (None: their defaults, all
    cores, as the plain loop always ran). Several workers on one machine must split the cores, or
    they oversubscribe them and each runs slower than alone.
    """

    def __init__(self, settings, threads=None):
        from exemplar.core.quiet_tensorflow import import_tensorflow_quietly

        self.settings = settings
        if threads is not None:
            # OpenBLAS/OpenMP read these when they start: before TensorFlow and numpy's first call.
            for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ[name] = str(threads)
        import_tensorflow_quietly()
        if threads is not None:
            import cv2
            import tensorflow as tf

            try:  # only possible before TensorFlow's first op; a runner in a used process keeps them
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            except RuntimeError:
                pass
            cv2.setNumThreads(threads)
        from exemplar.pipeline.colorizer import Colorizer

        self.colorizer = Colorizer(method=settings.method, size=settings.size, max_pixels=settings.max_pixels,
                                   weights=settings.weights, follow_reference=settings.follow_reference,
                                   vividness=settings.vividness)

    def run(self, job):
        """Colorize ``job`` into its output -> Outcome; never raises for a bad row."""
        from exemplar.pipeline.file_job import colorize_file, failure

        overwrite = self.settings.overwrite
        if os.path.exists(job.output) and not overwrite:
            return Outcome(job.row, "skipped", job.output)
        try:
            done = colorize_file(self.colorizer, job.target, job.output, job.references, overwrite=overwrite,
                                 strength=self.settings.strength, hints=job.hints)
        except Exception as error:  # noqa: BLE001 - a bad scan, a bug or a resource error must not stop the archive
            return Outcome(job.row, "failed", *failure(error, job.target))
        return Outcome(job.row, "done", job.output, warnings=done.warnings)
