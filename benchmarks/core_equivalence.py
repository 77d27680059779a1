"""Do ``colorize``, ``batch`` and ``video`` still give the same files? (issue 21: one colorization core)

Runs the three commands in this process (click's CliRunner, so the front ends are exercised as
users run them) on small inputs generated here from the demo photos, and writes every output
under OUT_DIR; ``compare`` then reads two such folders and prints, per output, the largest
difference in 8-bit levels and how many samples differ.

    # before a change: the old code's outputs (e.g. from a copy of the old commit)
    git archive HEAD | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old python benchmarks/core_equivalence.py run /tmp/core_before
    # after it
    python benchmarks/core_equivalence.py run /tmp/core_after
    python benchmarks/core_equivalence.py compare /tmp/core_before /tmp/core_after --tolerance 1

Cases: the photo from a reference, automatic, a palette, hints, hints with strength, vividness and
follow-reference, the match method; a batch CSV (reference, automatic, hints); a 16-frame film
(frame folder in and out: PNG, lossless, so the comparison sees the colorizer's own pixels) from
a reference, automatic, a palette, hints, vividness with strength, and match.
"""

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

DEMO = Path(__file__).resolve().parent.parent / "exemplar" / "demo"
FILM_FRAMES, FILM_SIZE = 16, (240, 160)  # frames, (width, height) of the synthetic film

PHOTO_CASES = {  # name -> colorize arguments after TARGET
    "ref": ["-r", "{reference}"],
    "auto": [],
    "palette": ["--palette", "sepia"],
    "hints": ["--hint", "50%,40%=#c0392b", "--hint", "20%,70%=navy"],
    "ref_hints_tuned": ["-r", "{reference}", "--hint", "60%,30%=#2a6f97", "--strength", "0.6", "--vividness", "0.8",
                        "--follow-reference"],
    "match": ["-r", "{reference}", "--method", "match"],
}
FILM_CASES = {  # name -> video arguments after INPUT
    "ref": ["-r", "{reference}"],
    "auto": [],
    "palette": ["--palette", "sepia"],
    "hints": ["--hint", "45%,40%=#c0392b", "--hint-at", "3"],
    "vivid_strength": ["-r", "{reference}", "--vividness", "0.8", "--strength", "0.7", "--keyframe-interval", "3"],
    "match": ["-r", "{reference}", "--method", "match", "--size", "96"],
}


def make_inputs(folder):
    """The demo photos, and a film panning and zooming over the demo target (frame folder of PNGs)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = cv2.imread(str(DEMO / "target.jpg"), cv2.IMREAD_GRAYSCALE)  # (300, 451) uint8
    frames = folder / "film"
    frames.mkdir(exist_ok=True)
    width, height = FILM_SIZE
    for i in range(FILM_FRAMES):
        scale = 1.0 + 0.01 * i  # a slow zoom while panning right and down
        crop_w, crop_h = int(width * 1.4 / scale), int(height * 1.4 / scale)
        left, top = 20 + 5 * i, 10 + 2 * i
        frame = cv2.resize(target[top : top + crop_h, left : left + crop_w], FILM_SIZE, interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(frames / f"frame_{i:04d}.png"), frame)
    return {"target": DEMO / "target.jpg", "reference": DEMO / "reference.jpg", "film": frames}


def run(out_dir):
    from click.testing import CliRunner

    import exemplar
    from exemplar.cli.main import main

    out_dir = Path(out_dir)
    inputs = make_inputs(out_dir / "inputs")
    print(f"exemplar from {Path(exemplar.__file__).parent}", flush=True)

    def invoke(args):
        args = [str(a).format(**inputs) for a in args]
        result = CliRunner().invoke(main, args)
        if result.exit_code != 0:
            raise SystemExit(f"exemplar {' '.join(args)} failed:\n{result.output}\n{result.exception!r}")

    (out_dir / "colorize").mkdir(exist_ok=True)
    for name, args in PHOTO_CASES.items():
        print(f"colorize {name}", flush=True)
        invoke(["colorize", "{target}", *args, "-o", out_dir / "colorize" / f"{name}.png", "--overwrite"])

    batch = out_dir / "batch"
    batch.mkdir(exist_ok=True)
    target, reference = inputs["target"], inputs["reference"]
    rows = ["target,reference,output,hints", f"{target},{reference},ref.png,", f"{target},,auto.png,",
            f'{target},,hints.png,"30%,30%=#2a6f97;70%,60%=olive"']
    (batch / "pairs.csv").write_text("\n".join(rows) + "\n")
    print("batch", flush=True)
    invoke(["batch", batch / "pairs.csv", "--overwrite"])

    (out_dir / "video").mkdir(exist_ok=True)
    for name, args in FILM_CASES.items():
        print(f"video {name}", flush=True)
        interval = [] if "--keyframe-interval" in args else ["--keyframe-interval", "4"]
        invoke(["video", "{film}", *args, *interval, "-o", out_dir / "video" / name, "--overwrite"])


def compare(before, after, tolerance):
    """Print each case's largest difference in 8-bit levels (a film: over all its frames); exit 1
    if one exceeds ``tolerance`` or an output is missing or of another shape."""
    before, after = Path(before), Path(after)
    cases, failed = {}, []  # case -> [largest difference, samples that differ, samples]
    for old in sorted(p for p in before.rglob("*.png") if "inputs" not in p.relative_to(before).parts):
        relative = old.relative_to(before)
        case = str(relative.parent) if relative.parts[0] == "video" else str(relative)
        new = after / relative
        a, b = cv2.imread(str(old), cv2.IMREAD_UNCHANGED), cv2.imread(str(new), cv2.IMREAD_UNCHANGED)
        if b is None or a.shape != b.shape or a.dtype != b.dtype:
            failed.append(f"{relative}: missing, or another shape or type")
            continue
        levels = 255.0 / np.iinfo(a.dtype).max  # 16-bit outputs in 8-bit levels
        diff = np.abs(a.astype(np.int64) - b.astype(np.int64)) * levels
        tally = cases.setdefault(case, [0.0, 0, 0])
        tally[0] = max(tally[0], float(diff.max()))
        tally[1] += int(np.count_nonzero(diff))
        tally[2] += diff.size
    for case, (largest, differ, samples) in cases.items():
        print(f"{case:28s} max {largest:5.2f} levels, {differ} of {samples} samples differ")
        if largest > tolerance:
            failed.append(f"{case}: max difference {largest:.2f} > {tolerance}")
    worst = max((tally[0] for tally in cases.values()), default=0.0)
    print(f"largest difference over all outputs: {worst:.2f} levels of 8-bit")
    for line in failed:
        print(f"FAILED {line}")
    return 1 if failed or not cases else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="write every case's output under OUT_DIR").add_argument("out_dir")
    check = commands.add_parser("compare", help="compare two run folders")
    check.add_argument("before")
    check.add_argument("after")
    check.add_argument("--tolerance", type=float, default=1.0, help="largest allowed difference, 8-bit levels")
    args = parser.parse_args()
    if args.command == "run":
        run(args.out_dir)
        return 0
    return compare(args.before, args.after, args.tolerance)


if __name__ == "__main__":
    sys.exit(main())
