"""Colour hints (issue 19): PSNR against the number of hints taken from the truth, and a contact sheet.

For each photo of val/bsds and val/people (``--sets``), automatic and with its same-kind reference
(the most similar other photo of the folder, benchmarks/quality.py's cached choice), the network
colorizes the photo's luminance with 0, 1, 2, 5, 10, 20 hints (``--counts``). Hint points are drawn
at random (numpy seed ``--seed`` + the photo's index, so every run and every model sees the same
points), nested (the 5 points are the first 5 of the 10), at least 1 pixel from the border; each
hint's colour is the truth's 3x3 mean sRGB colour there, as Zhang et al. 2017 simulate a user.
PSNR (sRGB, dB) against the truth is averaged per set, mode and count; a table is printed, a plot
written (PNG, drawn with OpenCV: matplotlib is not a dependency).

    python benchmarks/hints.py --weights MODEL_DIR [--limit N] [--sets bsds,people] [--modes auto,same-kind]
                               [--counts 0,1,2,5,10,20] [--plot docs/hints_psnr.png] [--json FILE]
    python benchmarks/hints.py --weights MODEL_DIR --sheet docs/hints_sheet.jpg   # 3 photos, 0/3/10 hints

The model must have the hint input (``exemplar/weights/default.npz`` may not: ``--weights``).
"""

import argparse
import json
import pathlib
import sys
import time

import cv2
import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run from a checkout without installing the package

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
COUNTS = (0, 1, 2, 5, 10, 20)
SHEET_COUNTS = (0, 3, 10)


def truth_hints(truth, count, seed):
    """``count`` hints (x, y, (r, g, b)) from the truth (H, W, 3) sRGB in [0, 1]: random pixels at
    least 1 from the border (nested in ``count``), each the 3x3 mean colour there in 0..255."""
    height, width = truth.shape[:2]
    rng = np.random.default_rng(seed)
    points = np.stack([rng.integers(1, width - 1, max(COUNTS + SHEET_COUNTS)),
                       rng.integers(1, height - 1, max(COUNTS + SHEET_COUNTS))], axis=1)[:count]
    return [(int(x), int(y), click_colour(truth, x, y)) for x, y in points]


def click_colour(rgb, x, y):
    """The colour a simulated user clicks at pixel (x, y) of (H, W, 3) sRGB in [0, 1]: the 3x3 mean there, 0..255."""
    return tuple(int(v) for v in np.round(rgb[y - 1 : y + 2, x - 1 : x + 2].mean((0, 1)) * 255))


def photo_sets(data, sets, modes):
    """-> [(label, [(truth path, reference path or None)])] for each set and mode."""
    from quality import folder_photos, same_kind_pairs

    chosen = []
    for folder in sets:
        for mode in modes:
            if mode == "auto":
                chosen.append((f"auto / {folder}", [(p, None) for p in folder_photos(data, folder)]))
            else:
                chosen.append((f"same-kind / {folder}", [(p.target, p.reference) for p in same_kind_pairs(data, folder)]))
    return chosen


def measure(colorizer, pairs, counts, seed, on_photo=None):
    """Mean PSNR per hint count over ``pairs`` -> ({count: mean dB}, {count: [dB per photo]})."""
    from exemplar.evaluation import metrics
    from exemplar.core.color import l_to_grey_rgb, rgb_to_l
    from exemplar.evaluation.protocols import read_rgb

    scores = {count: [] for count in counts}
    for index, (target, reference) in enumerate(pairs):
        truth = read_rgb(target)
        grey = l_to_grey_rgb(rgb_to_l(truth))  # the luminance is all the colorizer gets
        references = [] if reference is None else [read_rgb(reference)]
        for count in counts:
            output = colorizer.colorize(grey, references, hints=truth_hints(truth, count, seed + index))
            scores[count].append(metrics.psnr_rgb(np.clip(output, 0, 1), truth))
        if on_photo is not None:
            on_photo(index, len(pairs), {c: s[-1] for c, s in scores.items()})
    return {count: float(np.mean(s)) for count, s in scores.items()}, scores


def table(results, counts, markdown=False):
    """Mean PSNR per (set / mode) row and hint-count column, then the gain of 10 hints (if measured)."""
    header = ["set", "n"] + [f"{c} hints" for c in counts] + (["+10 vs 0"] if {0, 10} <= set(counts) else [])
    rows = []
    for label, (means, n) in results.items():
        gain = [f"{means[10] - means[0]:+.2f}"] if {0, 10} <= set(counts) else []
        rows.append([label, str(n)] + [f"{means[c]:.2f}" for c in counts] + gain)
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths)))
                     for r in [header] + rows)


def draw_plot(results, counts, path, size=(640, 420)):
    """PSNR (dB) against the number of hints, one line per set / mode, drawn with OpenCV -> PNG."""
    width, height = size
    left, right, top, bottom = 60, 170, 30, 50
    image = np.full((height, width, 3), 255, np.uint8)
    values = [v for means, _ in results.values() for v in means.values()]
    low, high = np.floor(min(values)) - 0.5, np.ceil(max(values)) + 0.5
    xs = {c: left + i * (width - left - right) / max(len(counts) - 1, 1) for i, c in enumerate(counts)}  # even steps

    def y(value):
        return int(round(top + (high - value) / (high - low) * (height - top - bottom)))

    font, grey = cv2.FONT_HERSHEY_SIMPLEX, (160, 160, 160)
    for tick in np.arange(np.ceil(low), high, max(1.0, np.ceil((high - low) / 6))):
        cv2.line(image, (left, y(tick)), (width - right, y(tick)), (230, 230, 230), 1)
        cv2.putText(image, f"{tick:.0f}", (left - 34, y(tick) + 4), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for count, x in xs.items():
        cv2.putText(image, str(count), (int(x) - 5, height - bottom + 18), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.rectangle(image, (left, top), (width - right, height - bottom), grey, 1)
    cv2.putText(image, "hints from the truth", (left + 120, height - 10), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(image, "PSNR dB", (6, top - 10), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    palette = [(43, 57, 192), (216, 79, 31), (46, 139, 87), (0, 140, 255), (128, 0, 128), (90, 90, 90)]  # BGR
    for i, (label, (means, _)) in enumerate(results.items()):
        colour = palette[i % len(palette)]
        points = [(int(xs[c]), y(means[c])) for c in counts]
        cv2.polylines(image, [np.int32(points)], False, colour, 2, cv2.LINE_AA)
        for point in points:
            cv2.circle(image, point, 4, colour, -1, cv2.LINE_AA)
        cv2.line(image, (width - right + 10, top + 10 + 20 * i), (width - right + 30, top + 10 + 20 * i), colour, 2)
        cv2.putText(image, label, (width - right + 36, top + 14 + 20 * i), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image)


def with_dots(rgb, hints):
    """(H, W, 3) sRGB in [0, 1] with each hint drawn as a dot of its colour, ringed black and white."""
    image = np.ascontiguousarray(np.round(rgb * 255).astype(np.uint8))
    radius = max(3, round(min(image.shape[:2]) / 40))  # still a dot at the sheet's panel height
    for x, y, colour in hints:
        cv2.circle(image, (x, y), radius + 2, (0, 0, 0), -1, cv2.LINE_AA)
        cv2.circle(image, (x, y), radius + 1, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(image, (x, y), radius, tuple(int(c) for c in colour), -1, cv2.LINE_AA)
    return image.astype(np.float32) / 255.0


def write_sheet(colorizer, data, path, seed, height=160):
    """Three val/bsds photos (spread over the set), automatic, with 0, 3 and 10 hints drawn as dots."""
    from exemplar.core.color import l_to_grey_rgb, rgb_to_l
    from exemplar.core.contact_sheet import SheetPanel, contact_sheet
    from exemplar.evaluation.protocols import read_rgb, spread
    from quality import folder_photos

    rows = []
    for index, target in enumerate(spread(folder_photos(data, "bsds"), 3)):
        truth = read_rgb(target)
        grey = l_to_grey_rgb(rgb_to_l(truth))
        panels = [SheetPanel("grey", grey)]
        for count in SHEET_COUNTS:
            hints = truth_hints(truth, count, seed + index)
            panels.append(SheetPanel(f"{count} hints", with_dots(colorizer.colorize(grey, hints=hints), hints)))
        rows.append(contact_sheet(panels + [SheetPanel("truth", truth)], height=height))
    width = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=1.0) for r in rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.round(sheet * 255).astype(np.uint8), cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {path} ({sheet.shape[1]}x{sheet.shape[0]})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=pathlib.Path, default=None, help="model folder with the hint input")
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA, help=f"data root (default {DEFAULT_DATA})")
    parser.add_argument("--sets", default="bsds,people", help="val folders (default bsds,people)")
    parser.add_argument("--modes", default="auto,same-kind", help="auto and/or same-kind (default both)")
    parser.add_argument("--counts", default=",".join(map(str, COUNTS)), help="hint counts (default 0,1,2,5,10,20)")
    parser.add_argument("--limit", type=int, default=None, help="photos per set, spread evenly (default: all)")
    parser.add_argument("--size", type=int, default=256, help="colorizer working resolution (default 256)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the hint points (default 0)")
    parser.add_argument("--plot", type=pathlib.Path, default=REPO_ROOT / "runs" / "hints" / "psnr_hints.png",
                        help="the plot's PNG path (default runs/hints/psnr_hints.png)")
    parser.add_argument("--json", type=pathlib.Path, default=None, help="also write means and per-photo PSNR here")
    parser.add_argument("--markdown", action="store_true", help="print the table in markdown")
    parser.add_argument("--sheet", type=pathlib.Path, default=None,
                        help="write only the contact sheet (3 photos, 0/3/10 hints as dots) to this JPEG")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not set(modes) <= {"auto", "same-kind"} or not all(0 <= c <= max(COUNTS) for c in counts):
        parser.error(f"--modes takes auto and same-kind; --counts numbers from 0 to {max(COUNTS)}")
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))  # quality.py's sets and same-kind choice

    from exemplar.pipeline.colorizer import Colorizer
    from exemplar.core.errors import ExemplarError
    from exemplar.evaluation.protocols import spread

    colorizer = Colorizer(method="net", size=args.size, weights=args.weights)
    if not colorizer.method.net.hints:
        raise SystemExit(f"{args.weights or 'the shipped model'}: this model has no colour hint input (--weights)")
    if args.sheet is not None:
        return write_sheet(colorizer, args.data, args.sheet, args.seed)

    results, report = {}, {"weights": str(args.weights), "size": args.size, "limit": args.limit, "seed": args.seed,
                           "counts": counts, "sets": {}}
    for label, pairs in photo_sets(args.data, [s.strip() for s in args.sets.split(",")], modes):
        pairs = spread(pairs, args.limit)
        start = time.perf_counter()
        try:
            means, scores = measure(colorizer, pairs, counts, args.seed)
        except ExemplarError as error:
            raise SystemExit(f"{label}: {error}") from error
        results[label] = (means, len(pairs))
        report["sets"][label] = {"n": len(pairs), "mean_psnr": means, "psnr": scores}
        print(f"{label}: {len(pairs)} photos x {len(counts)} counts in {time.perf_counter() - start:.0f} s",
              file=sys.stderr)
    print(f"PSNR (dB) against the number of hints from the truth; weights {args.weights}, size {args.size}, "
          f"limit {args.limit or 'none'}, seed {args.seed}")
    print(table(results, counts, markdown=args.markdown))
    draw_plot(results, counts, args.plot)
    print(f"wrote {args.plot}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
