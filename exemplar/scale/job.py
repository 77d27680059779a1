"""One row of a batch, and the two ways to list them: a ``target,reference,output`` CSV or a folder tree.

Paths are kept as plain strings: jobs travel to other processes (and, on a cluster, to other
machines) as small records, and a string means the same thing everywhere the shared storage is
mounted at the same place.
"""

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from exemplar.core.errors import ExemplarError

# What image_io reads; outputs of a folder tree keep their file's format.
FOLDER_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp")


@dataclass(frozen=True)
class Job:
    """Colorize ``target`` from ``references`` (none: automatic) into ``output``.

    row: what the report calls this job: the CSV line number (the header is line 1, as a
    spreadsheet shows it) or, for a folder tree, the file's 1-based position in sorted order.
    hints: colour hints as "X,Y=COLOUR" strings (exemplar.methods.hints), checked when the row runs.
    """

    row: int
    target: str
    references: tuple
    output: str
    hints: tuple = ()

    def to_record(self):
        """A flat dict of scalars (Ray Data rows are Arrow tables: no lists of varying length)."""
        return {"row": self.row, "target": self.target, "references": json.dumps(list(self.references)),
                "output": self.output, "hints": json.dumps(list(self.hints))}

    @classmethod
    def from_record(cls, record):
        return cls(int(record["row"]), str(record["target"]), tuple(json.loads(record["references"])),
                   str(record["output"]), tuple(json.loads(record.get("hints") or "[]")))


def jobs_from_csv(csv_path):
    """Rows of a ``target,reference,output`` CSV -> [Job].

    Paths may be absolute or relative to the CSV's folder; several references in one cell are
    separated by ';'; an empty reference cell means automatic colorization. An optional ``hints``
    column holds colour hints, "X,Y=COLOUR" separated by ';' (e.g. ``120,45=#c0392b;50%,10%=navy``).
    """
    folder = Path(csv_path).parent
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"target", "reference", "output"} - set(reader.fieldnames or [])
        if missing:
            raise ExemplarError(f"{csv_path}: missing column(s) {', '.join(sorted(missing))}; "
                                "the header must be target,reference,output")
        jobs = []
        for number, row in enumerate(reader, start=2):
            refs = tuple(str(folder / r.strip()) for r in (row["reference"] or "").split(";") if r.strip())
            target, output = (str(folder / (row[key] or "").strip()) for key in ("target", "output"))
            hints = tuple(h.strip() for h in (row.get("hints") or "").split(";") if h.strip())
            jobs.append(Job(number, target, refs, output, hints))
    return jobs


def jobs_from_folder(root, out_dir, references=(), *, make_folders=True):
    """Every photo under ``root`` (any depth, sorted) -> [Job] writing ``out_dir``/<same relative path>.

    All rows share ``references`` (none: automatic). Hidden files and folders are skipped, and so is
    ``out_dir`` when it lies inside ``root`` (a rerun must not colorize its own outputs). With
    ``make_folders`` the output sub-folders are created here, once, instead of by every worker.
    """
    root, out_dir = Path(root), Path(out_dir)
    if not root.is_dir():
        raise ExemplarError(f"{root}: not a folder")
    inside = out_dir.resolve()
    references = tuple(str(r) for r in references)
    jobs = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or path.suffix.lower() not in FOLDER_SUFFIXES:
            continue
        if inside == path.resolve().parent or inside in path.resolve().parents or not path.is_file():
            continue
        jobs.append(Job(len(jobs) + 1, str(path), references, str(out_dir / relative)))
    if not jobs:
        raise ExemplarError(f"{root}: no images ({', '.join(FOLDER_SUFFIXES)}) found")
    if make_folders:
        for folder in sorted({Path(job.output).parent for job in jobs}):
            folder.mkdir(parents=True, exist_ok=True)
    return jobs
