"""What happened to each row (:class:`Outcome`) and the run's tally and failure file (:class:`Report`).

The report file is a CSV ``row,file,reason`` of the failed rows only: a person fixes those files
(or accepts the loss) and reruns; finished outputs are skipped, so the next report lists only what
still fails. It is written atomically like the images, so a crash never leaves half a report.
"""

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from exemplar.core.image_io import replace_atomically

STATUSES = ("done", "skipped", "failed")


@dataclass(frozen=True)
class Outcome:
    """One row's result. status: "done", "skipped" (the output exists) or "failed".

    file: the file the failure is about (the target, or the reference or output that was bad);
    reason: why, in words; message: the one-line error the CLI prints (file and reason, as the
    plain loop always printed them); warnings: things the user should know about a finished row.
    """

    row: int
    status: str
    file: str = ""
    reason: str = ""
    message: str = ""
    warnings: tuple = ()

    def to_record(self):
        """Flat scalars, so the outcome crosses process boundaries as an Arrow row."""
        return {"row": self.row, "status": self.status, "file": self.file, "reason": self.reason,
                "message": self.message, "warnings": json.dumps(list(self.warnings))}

    @classmethod
    def from_record(cls, record):
        return cls(int(record["row"]), str(record["status"]), str(record["file"]), str(record["reason"]),
                   str(record["message"]), tuple(json.loads(record["warnings"])))


@dataclass
class Report:
    """Tally of a run: counts per status, the failed outcomes, and which rows were seen at all."""

    counts: dict = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    failures: list = field(default_factory=list)
    seen: set = field(default_factory=set)

    def add(self, outcome):
        self.counts[outcome.status] += 1
        self.seen.add(outcome.row)
        if outcome.status == "failed":
            self.failures.append(outcome)

    def add_lost(self, jobs, why):
        """Count every job never reported back (a worker died with it) as failed, with ``why``.

        Rows are never dropped silently: whatever an engine loses still ends in the report.
        """
        for job in jobs:
            if job.row not in self.seen:
                self.add(Outcome(job.row, "failed", job.target, why, f"{job.target}: {why}"))

    def summary(self):
        return (f"{self.counts['done']} colorized, {self.counts['skipped']} skipped (output exists), "
                f"{self.counts['failed']} failed")

    def write(self, path):
        """Write the failed rows, sorted by row, to ``path`` as CSV ``row,file,reason`` (atomically)."""
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(["row", "file", "reason"])
        for outcome in sorted(self.failures, key=lambda o: o.row):
            writer.writerow([outcome.row, outcome.file, outcome.reason])
        replace_atomically(Path(path), buffer.getvalue().encode("utf-8"))


def read_report(path):
    """A report file -> [(row int, file, reason)] (for tests and for scripts that retry failures)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [(int(r["row"]), r["file"], r["reason"]) for r in csv.DictReader(handle)]
