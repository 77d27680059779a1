"""``LoopEngine``: every job in this process, one after another (``exemplar batch``'s default).

The reference the distributed engines are measured and tested against: the same
:class:`~exemplar.scale.runner.JobRunner`, so the same rules and the same outputs, with no
start-up cost and nothing to install.
"""

from exemplar.scale.runner import JobRunner


class LoopEngine:
    """Run jobs in order in this process; models load once, here, when the engine is built.

    threads: as :class:`JobRunner` (None: TensorFlow's default, all cores).
    """

    name = "loop"

    def __init__(self, settings, threads=None):
        self.runner = JobRunner(settings, threads=threads)

    def run(self, jobs, on_outcome):
        """Colorize ``jobs``; ``on_outcome(Outcome)`` is called once per job, in job order."""
        for job in jobs:
            on_outcome(self.runner.run(job))

    def close(self):
        """Nothing to release (the same interface as the distributed engines)."""
