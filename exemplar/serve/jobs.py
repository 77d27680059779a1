"""``JobQueue``: one worker thread owns the models and runs colorization jobs one at a time.

Why a single worker: colorizing a large photo holds several full-size float arrays (a 24 MP photo
peaks near 1.8 GB with ``match``), and the models are loaded once per process. Running jobs one
after another bounds memory whatever the number of users or tabs; the queue's length is capped,
so a flood of requests is answered "busy" at once instead of piling up unbounded. The models are
also built on the worker thread, so TensorFlow is only ever driven from that one thread.

A job that fails (bad input, or a bug) is marked failed with a message and the worker goes on
with the next: one bad photo never stops the server.
"""

import collections
import logging
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger("exemplar.serve")
KEEP_FINISHED = 200  # finished jobs remembered (their files deleted past this)


class QueueFull(Exception):
    """The queue holds as many waiting jobs as it may; the page asks the user to try again later."""


@dataclass
class Job:
    """One photo to colorize and what has become of it; :meth:`public` is what the page sees."""

    name: str  # the target's file name, a label
    spec: dict  # what the engine needs: upload ids, palette text, strength, ...
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    state: str = "queued"  # queued -> running -> done | failed
    stage: str = "waiting"
    message: str = ""  # why it failed, in words the user can act on
    notes: list = field(default_factory=list)  # warnings and facts (references chosen, ...)
    result: dict = field(default_factory=dict)  # width, height, bit depth, alpha of the output
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None

    def public(self, position=None):
        return {"id": self.id, "name": self.name, "state": self.state, "stage": self.stage, "position": position,
                "message": self.message, "notes": list(self.notes), "result": dict(self.result),
                "seconds": None if self.started is None else round((self.finished or time.time()) - self.started, 2)}


class JobQueue:
    """Run ``engine.run(job)`` for each submitted job on one thread, after ``engine.load()`` there.

    engine: an object with ``load()`` (build models; called once, on the worker thread),
      ``run(job)`` (do the job, raising :class:`exemplar.core.errors.ExemplarError` for user errors) and
      ``forget(job)`` (delete a finished job's files).
    max_waiting: how many jobs may wait; :meth:`submit` raises :class:`QueueFull` past it.
    """

    def __init__(self, engine, max_waiting=32):
        self.engine = engine
        self.max_waiting = max_waiting
        self.ready = threading.Event()
        self.load_error = None
        self._jobs = {}
        self._waiting = collections.deque()  # job ids in order; the worker pops from the left
        self._finished = collections.deque()
        self._lock = threading.Lock()
        self._wake = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="exemplar-worker", daemon=True)
        self._thread.start()

    def submit(self, name, spec):
        with self._lock:
            if len(self._waiting) >= self.max_waiting:
                raise QueueFull(f"{len(self._waiting)} photos are already waiting, the most this server queues; "
                                "try again when some have finished")
            job = Job(name=name, spec=spec)
            self._jobs[job.id] = job
            self._waiting.append(job.id)
        self._wake.put(job.id)
        return job

    def status(self, job_id):
        """The job's public state (with its place in the queue), or None for an unknown id."""
        with self._lock:
            job = self._jobs.get(job_id) if isinstance(job_id, str) else None
            if job is None:
                return None
            position = self._waiting.index(job_id) + 1 if job.state == "queued" else None
            return job.public(position)

    def get(self, job_id):
        return self._jobs.get(job_id) if isinstance(job_id, str) else None

    def stop(self):
        self._wake.put(None)
        self._thread.join(timeout=30)

    # ------------------------------------------------------------------ the worker thread

    def _work(self):
        from exemplar.core.errors import ExemplarError

        try:
            self.engine.load()
        except Exception as error:  # noqa: BLE001 - every job will say why the server cannot colorize
            log.exception("loading the models failed")
            self.load_error = f"the server could not load its models: {error}"
        self.ready.set()
        while self._wake.get() is not None:
            with self._lock:
                job = self._jobs[self._waiting.popleft()]
                job.state, job.stage, job.started = "running", "starting", time.time()
            try:
                if self.load_error:
                    raise ExemplarError(self.load_error)
                self.engine.run(job)
                job.state, job.stage = "done", "done"
            except ExemplarError as error:
                job.state, job.stage, job.message = "failed", "failed", str(error)
            except MemoryError:
                job.state, job.stage = "failed", "failed"
                job.message = "the photo is too large for this server's memory; try a smaller one"
            except Exception as error:  # noqa: BLE001 - a bug in one job must not stop the server
                log.exception("job %s failed", job.id)
                job.state, job.stage, job.message = "failed", "failed", f"internal error ({type(error).__name__}: {error})"
            job.finished = time.time()
            self._retire(job)

    def _retire(self, job):
        """Remember the finished job; forget the oldest beyond KEEP_FINISHED so memory and disk stay bounded."""
        with self._lock:
            self._finished.append(job.id)
            while len(self._finished) > KEEP_FINISHED:
                old = self._jobs.pop(self._finished.popleft())
                self.engine.forget(old)
