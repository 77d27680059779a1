"""Restyling: does a palette steer the colours, and does reference search find look-alikes?

(a) Palettes. ``exemplar restyle`` is run on three photos with three palettes; for each output
the ab-histogram intersection with the palette's histogram (the 21 x 21 soft histogram the
network takes, ``Palette.ab_histogram``) is printed before (the grey input) and after (the
restyled PNG), with the largest change of CIE L (palette colour must not change luminance).
The comparison sheets are left in ``--sheets`` (default /tmp/restyle_sheets) to look at.

(b) Reference search. Every photo of ``val/scenes/<class>/*.jpg`` (600 photos, 6 classes) is
a target; its top-1 reference among the OTHER photos is picked with ``ReferenceIndex`` and
counted as right when it has the target's class. Times: building the index from scratch
(embedding every photo), reopening it from its cache, and the searches (each embeds its target).
The folder is mirrored by symlinks into a temporary folder so the index is not written into
the shared data.

    python benchmarks/restyle.py [--data ../shared/data] [--only palettes|search]
"""

import argparse
import pathlib
import sys
import tempfile
import time
import warnings

import cv2
import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run from a checkout without installing the package

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
PALETTES = ("sepia", "teal-orange", "autumn")
PHOTOS = ("bsds/101085.jpg", "bsds/102061.jpg", "scenes/mountain")  # a scenes entry takes the class's first photo


def image_lab(path):
    from exemplar.color import rgb_to_lab

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return rgb_to_lab(bgr[..., ::-1].astype(np.float32) / 255.0)


def palettes(data, sheets, size):
    from click.testing import CliRunner

    from exemplar.cli import main
    from exemplar.metrics import histogram_intersection
    from exemplar.palette import parse_palette, soft_ab_histogram

    photos = []
    for name in PHOTOS:
        path = data / "val" / name
        photos.append(sorted(path.glob("*.jpg"))[0] if path.is_dir() else path)
    print(f"(a) palettes on {len(photos)} photos, --size {size}; intersection with the palette's 21x21 ab histogram")
    print(f"{'photo':<14} {'palette':<12} {'grey input':>10} {'restyled':>9} {'max |dL|':>9}")
    rows = []
    for photo in photos:
        args = ["restyle", str(photo), "--out-dir", str(sheets), "--overwrite", "--size", str(size)]
        for name in PALETTES:
            args += ["--palette", name]
        result = CliRunner().invoke(main, args)
        if result.exit_code != 0:
            raise SystemExit(result.output)
        lab = image_lab(photo)
        grey_lab = np.dstack([lab[..., 0], np.zeros_like(lab[..., 1:])])  # the grey input: a = b = 0
        for name in PALETTES:
            target = parse_palette(name).ab_histogram()
            out_lab = image_lab(sheets / f"{photo.stem}_{name}.png")
            before = histogram_intersection(soft_ab_histogram(grey_lab[..., 1:]), target)
            after = histogram_intersection(soft_ab_histogram(out_lab[..., 1:]), target)
            d_l = float(np.max(np.abs(out_lab[..., 0] - lab[..., 0])))  # the output is 8-bit: ~0.5 is rounding
            rows.append((before, after))
            print(f"{photo.stem:<14} {name:<12} {before:>10.3f} {after:>9.3f} {d_l:>9.2f}")
    before, after = np.mean(rows, axis=0)
    print(f"{'mean':<27} {before:>10.3f} {after:>9.3f}")
    print(f"sheets: {', '.join(str(sheets / f'{p.stem}_sheet.png') for p in photos)}")


def search(data):
    from exemplar.reference_index import INDEX_NAME, ReferenceIndex

    scenes = data / "val" / "scenes"
    photos = sorted(scenes.glob("*/*.jpg"))
    if not photos:
        raise SystemExit(f"no photos in {scenes}/<class>/*.jpg")
    with tempfile.TemporaryDirectory() as tmp:
        mirror = pathlib.Path(tmp) / "scenes"
        for photo in photos:  # links, so that the index file goes here and not into shared data
            link = mirror / photo.parent.name / photo.name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(photo)
        start = time.perf_counter()
        index = ReferenceIndex(mirror)
        build = time.perf_counter() - start
        start = time.perf_counter()
        again = ReferenceIndex(mirror, encoder=index.encoder)
        reopen = time.perf_counter() - start
        assert again.changes["kept"] == len(photos), again.changes
        size_kb = (mirror / INDEX_NAME).stat().st_size / 1024
        right, start = 0, time.perf_counter()
        for photo in photos:
            best = index.search(mirror / photo.parent.name / photo.name, top_k=1)[0]
            right += best.path.parent.name == photo.parent.name
        searching = time.perf_counter() - start
    classes = sorted({p.parent.name for p in photos})
    print(f"\n(b) reference search on {len(photos)} photos, {len(classes)} classes ({', '.join(classes)})")
    print(f"top-1 reference of the same class: {right}/{len(photos)} = {right / len(photos):.1%} (chance ~{1 / len(classes):.0%})")
    print(f"index build (embed all): {build:.1f} s ({1000 * build / len(photos):.0f} ms/photo), index file {size_kb:.0f} KiB")
    print(f"index reopen from cache: {reopen:.2f} s")
    print(f"searches: {searching:.1f} s for {len(photos)} ({1000 * searching / len(photos):.0f} ms each, target embedding included)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA, help="data root holding val/bsds and val/scenes")
    parser.add_argument("--sheets", type=pathlib.Path, default=pathlib.Path("/tmp/restyle_sheets"), help="where the outputs and sheets go")
    parser.add_argument("--size", type=int, default=256, help="working short side of the colorizer")
    parser.add_argument("--only", choices=["palettes", "search"], help="run one part only")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the val photos are colour photos used as grey targets
    if args.only != "search":
        args.sheets.mkdir(parents=True, exist_ok=True)
        palettes(args.data, args.sheets, args.size)
    if args.only != "palettes":
        search(args.data)


if __name__ == "__main__":
    main()
