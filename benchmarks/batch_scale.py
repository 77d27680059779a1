"""Archive-scale batch: photos/s of ``exemplar batch --engine ray`` (1 and 2 workers) against the loop.

A small archive is made from real photos (``../shared/data/val``): ``--photos`` rows (default 200)
whose targets are grey PNGs of ``val/scenes`` photos (coloured from a same-class photo, the rows of
``val/pairs_same_class.csv``) and of ``val/bsds`` photos (automatic: empty reference; the next
bsds photo with ``--method match``), with ``--corrupt`` of the rows (default 5%) pointing at broken files instead (truncated JPEGs, text
named .jpg, a zero-byte file). Every engine runs the same CSV as a user would, as a child process
``python -m exemplar batch`` with the shipped model (``--method net``), timed end to end (Python and
TensorFlow start-up, model loads, Ray start-up included). The engine's fixed cost is timed on a
one-photo CSV (start-up + one photo), and ``steady`` = (good rows - 1) / (time - that) is its rate
once started: what counts for an archive of millions. Each engine is also rerun on its finished
outputs: the good rows are skipped before any worker starts; the corrupt ones are tried again.

Checks, for every Ray run: the same images as the loop (L equal to 8-bit rounding, ab within 1),
every good row written, and every corrupt row in the report (row, file, reason): no row lost.

    nice -n 19 python benchmarks/batch_scale.py [--photos 200] [--corrupt 0.05] [--workers 1,2]

Other jobs on the machine slow every figure: the load average is printed before each engine's
runs, with the cores other jobs kept busy just before them (when nothing of this benchmark ran).
"""

import argparse
import csv
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run from a checkout without installing the package


def make_archive(data, folder, photos, corrupt_share, automatic=True, seed=0):
    """Grey targets in ``folder`` -> (CSV lines (target, reference, output), {row: corrupt file name}).

    automatic: bsds rows have no reference (``net``'s automatic mode); otherwise the next bsds photo.
    """
    pairs = list(csv.DictReader(open(data / "val" / "pairs_same_class.csv", encoding="utf-8")))
    rng = np.random.default_rng(seed)
    n_bsds = photos // 5
    scenes = [pairs[i] for i in sorted(rng.choice(len(pairs), photos - n_bsds, replace=False))]
    bsds = sorted((data / "val" / "bsds").glob("*.jpg"))[:n_bsds]
    rows = [(data / p["target"], data / p["reference"]) for p in scenes]
    rows += [(path, None if automatic else bsds[(i + 1) % len(bsds)]) for i, path in enumerate(bsds)]
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    n_corrupt = int(round(corrupt_share * photos))
    broken = {}  # CSV row number (header = 1) -> file name
    for k, index in enumerate(np.linspace(0, photos - 1, n_corrupt, dtype=int) if n_corrupt else []):
        name = f"broken_{k:03d}.jpg"
        source = rows[index][0].read_bytes()
        kind = k % 3
        (folder / name).write_bytes(source[: len(source) // 3] if kind == 0 else b"" if kind == 1
                                    else b"scanner log: page jammed\n" * 40)
        rows[index] = (folder / name, rows[index][1])
        broken[int(index) + 2] = name
    lines = []
    for i, (target, reference) in enumerate(rows):
        if not target.name.startswith("broken_"):
            grey = cv2.cvtColor(cv2.imread(str(target)), cv2.COLOR_BGR2GRAY)
            target = folder / f"grey_{i:04d}.png"
            cv2.imwrite(str(target), grey)
        lines.append((target.name, "" if reference is None else str(reference), f"{i:04d}.png"))
    return lines, broken


def write_csv(folder, lines, out):
    (folder / out).mkdir(exist_ok=True)
    path = folder / f"{out}.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["target", "reference", "output"])
        writer.writerows((t, r, f"{out}/{o}") for t, r, o in lines)
    return path


def run(csv_path, args, extra):
    """``exemplar batch`` as a child process -> (seconds, exit code, last stdout line)."""
    command = [sys.executable, "-m", "exemplar", "batch", str(csv_path), "--method", args.method,
               "--size", str(args.size), *extra]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)
    seconds = time.perf_counter() - start
    summary = [line for line in done.stdout.splitlines() if "colorized" in line]
    if not summary:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return seconds, done.returncode, summary[-1]


def compare(ours, theirs):
    """Max |L| and |ab| differences (CIE Lab of the 8-bit outputs) and whether the files are identical."""
    from exemplar.core.color import rgb_to_lab

    a, b = cv2.imread(str(ours)), cv2.imread(str(theirs))
    if a is None or b is None or a.shape != b.shape:
        return np.inf, np.inf, False
    lab_a, lab_b = rgb_to_lab(a[..., ::-1] / 255.0), rgb_to_lab(b[..., ::-1] / 255.0)
    return (float(np.abs(lab_a[..., 0] - lab_b[..., 0]).max()), float(np.abs(lab_a[..., 1:] - lab_b[..., 1:]).max()),
            bool(np.array_equal(a, b)))


def load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def busy_cores(seconds=3.0):
    """Cores kept busy by everything on the machine over ``seconds`` (from /proc/stat).

    Sampled between runs, when nothing of this benchmark runs, so it measures the other jobs: the
    load average mixes them with this benchmark's own last minute.
    """
    def sample():
        values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values) - idle, sum(values)

    (busy0, total0), _ = sample(), time.sleep(seconds)
    busy1, total1 = sample()
    return (os.cpu_count() or 1) * (busy1 - busy0) / max(total1 - total0, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=pathlib.Path, default=REPO_ROOT.parent / "shared" / "data")
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--corrupt", type=float, default=0.05, help="share of rows pointing at broken files")
    parser.add_argument("--method", default="net")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--workers", default="1,2", help="Ray worker counts to time, comma-separated")
    parser.add_argument("--work-dir", type=pathlib.Path, default=None, help="keep the archive here (default: temp)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="batch_scale_") as temp:
        folder = args.work_dir or pathlib.Path(temp)
        folder.mkdir(parents=True, exist_ok=True)
        lines, broken = make_archive(args.data, folder, args.photos, args.corrupt, automatic=args.method == "net")
        good = len(lines) - len(broken)
        print(f"{len(lines)} rows: {good} real photos ({sum(1 for _, r, _ in lines if not r)} automatic), "
              f"{len(broken)} corrupt; --method {args.method} --size {args.size}; {os.cpu_count()} CPUs")
        engines = [("loop", [])] + [(f"ray x{w}", ["--engine", "ray", "--workers", w])
                                    for w in args.workers.split(",")]
        results = []
        for name, extra in engines:
            out = "out_" + name.replace(" ", "")
            csv_path = write_csv(folder, lines, out)
            report = folder / f"{out}.report.csv"
            first_good = next(line for line in lines if not line[0].startswith("broken_"))
            others = busy_cores()
            one_row, one_code, _ = run(write_csv(folder, [first_good], out + "_one"), args, extra)
            before = f"{load()}; other jobs {others:.1f} cores"
            seconds, code, summary = run(csv_path, args, extra + ["--report", str(report)])
            rerun, rerun_code, rerun_summary = run(csv_path, args, extra + ["--report", str(report)])
            listed = {int(r["row"]): r for r in csv.DictReader(open(report, encoding="utf-8"))}
            written = sorted(p.name for p in (folder / out).glob("*.png"))
            lost = len(lines) - len(written) - len(listed)
            problems = []
            if code != 1 or rerun_code != 1 or one_code != 0:
                problems.append(f"exit codes {code}, {rerun_code} (1 expected: rows failed), {one_code} (0 expected)")
            if set(listed) != set(broken) or any(broken[row] not in listed[row]["file"] for row in listed):
                problems.append(f"report rows {sorted(listed)} != corrupt rows {sorted(broken)}")
            if len(written) != good or lost:
                problems.append(f"{len(written)} outputs for {good} good rows; {lost} rows lost")
            if f"0 colorized, {good} skipped" not in rerun_summary:
                problems.append(f"rerun did not skip everything: {rerun_summary}")
            diffs = [compare(folder / out / n, folder / "out_loop" / n) for n in written] if name != "loop" else []
            steady = (good - 1) / max(seconds - one_row, 1e-6)
            results.append((name, seconds, one_row, steady, rerun, before, diffs, problems))
            print(f"{name:8s} {seconds:6.1f} s  {good / seconds:5.2f} photos/s  one photo {one_row:5.1f} s  "
                  f"steady {steady:5.2f} photos/s  rerun {rerun:5.1f} s  load {before}  | {summary}", flush=True)

        print(f"\n| engine | wall s ({good} photos) | photos/s | one-photo run s | steady photos/s | steady vs loop "
              "| rerun s (corrupt rows only) | load before; cores busy with other jobs |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for name, seconds, one_row, steady, rerun, before, _, _ in results:
            print(f"| {name} | {seconds:.1f} | {good / seconds:.2f} | {one_row:.1f} | {steady:.2f} | "
                  f"{steady / results[0][3]:.2f}x | {rerun:.1f} | {before} |")
        failed = False
        for name, *_, diffs, problems in results:
            if diffs:
                dl, dab, same = (max(d[0] for d in diffs), max(d[1] for d in diffs), sum(d[2] for d in diffs))
                ok = dl < 0.6 and dab <= 1.0  # 8-bit outputs: L equal to rounding, ab within 1
                print(f"{name}: vs loop max |dL| {dl:.2f}, max |dab| {dab:.2f}, {same}/{len(diffs)} files identical"
                      f" -> {'same' if ok else 'DIFFERENT'}")
                failed |= not ok
            for problem in problems:
                print(f"{name}: PROBLEM {problem}")
                failed = True
        print(f"corrupt rows: {len(broken)}, each in every report; no row lost: {'yes' if not failed else 'NO'}")
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
