"""Colour hints as a user gives them: one click that recolours one object, and how far the colour leaks.

benchmarks/hints.py clicks random points with the truth's own colour there. A photo's colours are
correlated, so a spread that carries each click far beyond its object is rewarded there, while a user's
click says "this object is this colour", often a colour the photo has nowhere else (a crimson jacket in a
grey street). Here each val photo gets one such click: an object is taken from the truth (the region of
similar colour and lightness connected to a random point: a flood fill in Lab, 2% to 40% of the photo),
the truth is recoloured there (its ab shifted so the point's colour turns by ``--turn`` degrees of hue, at
least ``--chroma`` ab units of chroma; L kept), and the colorizer is given the grey photo and one click of
the new colour at the point. Per set (automatic mode):

- object: the mean ab distance to the recoloured truth inside the object, without the click and with it
  (how much of the object takes the clicked colour);
- leak: the mean and 90th percentile ab change the click makes outside the object (away from its outline
  by 2% of the short side, where the upsampling blurs any edge): what a user sees tinted that they did
  not click;
- PSNR against the recoloured truth, without the click and with it.

    python benchmarks/deliberate_hints.py --weights MODEL_DIR [--sets bsds,people] [--limit N] [--markdown]
"""

import argparse
import pathlib
import sys

import cv2
import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run from a checkout without installing the package
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))  # hints.py's simulated click, quality.py's val folders

from hints import click_colour  # noqa: E402  (after the path)

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
FILL_L, FILL_AB = 12.0, 8.0  # flood-fill tolerance from the seed point: L units, ab units
AREA = (0.02, 0.40)  # an object's share of the photo
TRIES = 40


def find_object(lab, rng):
    """(H, W, 3) Lab -> (x, y) a point and (H, W) bool its object, or None: the pixels of colour and lightness
    near the point's (FILL_L, FILL_AB) connected to it, covering AREA of the photo."""
    height, width = lab.shape[:2]
    image = np.ascontiguousarray(lab, np.float32)
    for _ in range(TRIES):
        x, y = int(rng.integers(width // 10, width - width // 10)), int(rng.integers(height // 10, height - height // 10))
        mask = np.zeros((height + 2, width + 2), np.uint8)
        tolerance = (FILL_L, FILL_AB, FILL_AB)
        cv2.floodFill(image.copy(), mask, (x, y), 0, tolerance, tolerance,
                      4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (1 << 8))
        region = mask[1:-1, 1:-1] > 0
        if AREA[0] <= region.mean() <= AREA[1]:
            return (x, y), region
    return None


def recolour(lab, region, point, turn, min_chroma):
    """Shift the ab of ``region`` so the point's colour (its 3x3 mean) turns by ``turn`` degrees of hue, with
    at least ``min_chroma`` -> (Lab recoloured, (a, b) the new colour at the point)."""
    x, y = point
    ab = lab[y - 1 : y + 2, x - 1 : x + 2, 1:].reshape(-1, 2).mean(0)
    hue = np.arctan2(ab[1], ab[0]) + np.radians(turn)
    chroma = max(float(np.hypot(*ab)), min_chroma)
    new = np.float32([chroma * np.cos(hue), chroma * np.sin(hue)])
    out = lab.copy()
    out[region, 1:] += new - ab  # the object's own texture of colour kept, its colour moved
    return out, new


def measure(colorizer, photos, turn, min_chroma, seed):
    """-> per-photo dicts of the measures in the module docstring (photos where no object is found skipped)."""
    from exemplar.core.color import l_to_grey_rgb, lab_to_rgb, rgb_to_l, rgb_to_lab
    from exemplar.evaluation import metrics
    from exemplar.evaluation.protocols import read_rgb

    rows = []
    for index, path in enumerate(photos):
        truth = read_rgb(path)
        lab = rgb_to_lab(truth)
        found = find_object(lab, np.random.default_rng(seed + index))
        if found is None:
            continue
        point, region = found
        wanted = np.clip(lab_to_rgb(recolour(lab, region, point, turn, min_chroma)[0]), 0.0, 1.0)  # sRGB shows it
        wanted_lab = rgb_to_lab(wanted)
        x, y = point
        click = (x, y, click_colour(wanted, x, y))
        grey = l_to_grey_rgb(rgb_to_l(truth))
        plain = np.clip(colorizer.colorize(grey), 0.0, 1.0)
        clicked = np.clip(colorizer.colorize(grey, hints=[click]), 0.0, 1.0)
        plain_ab, clicked_ab = rgb_to_lab(plain)[..., 1:], rgb_to_lab(clicked)[..., 1:]
        margin = max(3, round(0.02 * min(region.shape)))
        near = cv2.dilate(region.astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)) > 0
        change = np.linalg.norm(clicked_ab - plain_ab, axis=-1)[~near]  # outside the object and its outline
        rows.append({
            "photo": path.name, "area": float(region.mean()),
            "object_before": float(np.linalg.norm(plain_ab - wanted_lab[..., 1:], axis=-1)[region].mean()),
            "object_after": float(np.linalg.norm(clicked_ab - wanted_lab[..., 1:], axis=-1)[region].mean()),
            "leak": float(change.mean()) if change.size else 0.0,
            "leak90": float(np.percentile(change, 90)) if change.size else 0.0,
            "psnr_before": metrics.psnr_rgb(plain, wanted), "psnr_after": metrics.psnr_rgb(clicked, wanted),
        })
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=pathlib.Path, default=None, help="model folder (default: the shipped one)")
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA, help=f"data root (default {DEFAULT_DATA})")
    parser.add_argument("--sets", default="bsds,people", help="val folders (default bsds,people)")
    parser.add_argument("--limit", type=int, default=None, help="photos per set, spread evenly (default: all)")
    parser.add_argument("--size", type=int, default=256, help="colorizer working resolution (default 256)")
    parser.add_argument("--turn", type=float, default=120.0, help="degrees the object's hue turns (default 120)")
    parser.add_argument("--chroma", type=float, default=30.0, help="least chroma of the clicked colour (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the points (default 0)")
    parser.add_argument("--markdown", action="store_true", help="print the table in markdown")
    args = parser.parse_args()

    from exemplar.evaluation.protocols import spread
    from exemplar.pipeline.colorizer import Colorizer
    from quality import folder_photos

    colorizer = Colorizer(method="net", size=args.size, weights=args.weights)
    header = ["set", "n", "object ab error: no click / click", "leak: mean / 90th pct", "PSNR: no click / click"]
    lines = []
    for folder in [s.strip() for s in args.sets.split(",") if s.strip()]:
        rows = measure(colorizer, spread(folder_photos(args.data, folder), args.limit), args.turn, args.chroma, args.seed)
        if not rows:
            lines.append([folder, "0", "no object found in any photo", "", ""])
            continue
        mean = {key: float(np.mean([r[key] for r in rows])) for key in rows[0] if key != "photo"}
        lines.append([folder, str(len(rows)), f"{mean['object_before']:.1f} / {mean['object_after']:.1f}",
                      f"{mean['leak']:.2f} / {mean['leak90']:.2f}", f"{mean['psnr_before']:.2f} / {mean['psnr_after']:.2f}"])
    if args.markdown:
        print("| " + " | ".join(header) + " |\n|" + "|".join(["---"] * len(header)) + "|")
        print("\n".join("| " + " | ".join(line) + " |" for line in lines))
    else:
        print("\n".join("  ".join(line) for line in [header] + lines))


if __name__ == "__main__":
    main()
