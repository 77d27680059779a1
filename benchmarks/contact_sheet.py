"""A contact sheet of val pairs for the README: grey / reference / match / net / net automatic
(no reference) / truth per row, and a last row with a palette instead of the reference.

    python benchmarks/contact_sheet.py [--out docs/contact_sheet.jpg] [--rows 12] [--data ../shared/data]
                                       [--weights MODEL_DIR] [--palette sepia] [--kinds people,faces,...]

Rows alternate between the same-class pairs of ``val/pairs_same_class.csv`` (spread over the
classes) and BSDS val photos (people, animals, objects, scenes) with the ``self`` protocol (own
colours, mirrored and cropped); in the palette row match is its tone assignment. Then, per
``--kinds`` val folder (default people, faces, animals, food, houses: its kitchens, bathrooms and
bedrooms stand in for rooms, which have no val folder), ``--per-kind`` photos with their same-kind
reference (the most similar other photo of the folder, as benchmarks/quality.py chooses it).
Written as a small JPEG so it can live in the repository; the photos themselves stay in
../shared (their licences are in its README).
"""

import argparse
import pathlib
import sys

import cv2
import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "contact_sheet.jpg"), help="output JPEG")
    parser.add_argument("--rows", type=int, default=12, help="number of pairs (rows)")
    parser.add_argument("--data", default=str(REPO_ROOT.parent / "shared" / "data"), help="data root")
    parser.add_argument("--height", type=int, default=96, help="panel height in pixels")
    parser.add_argument("--weights", default=None, help="net's model folder (default: the shipped model)")
    parser.add_argument("--palette", default="teal-orange", help="the palette of the last row")
    parser.add_argument("--kinds", default="people,faces,animals,food,houses",
                        help="val folders that get rows with a same-kind reference ('' for none)")
    parser.add_argument("--per-kind", type=int, default=2, help="rows per --kinds folder")
    args = parser.parse_args()

    from exemplar.core.color import l_to_grey_rgb, rgb_to_l
    from exemplar.pipeline.colorizer import Colorizer
    from exemplar.core.contact_sheet import SheetPanel, contact_sheet
    from exemplar.evaluation.protocols import read_pairs, read_rgb, self_reference, spread

    data = pathlib.Path(args.data)
    same_class = spread(read_pairs(data / "val" / "pairs_same_class.csv"), args.rows - args.rows // 2)
    bsds = spread(sorted((data / "val" / "bsds").glob("*.jpg")), args.rows // 2)
    match, net = Colorizer(method="match"), Colorizer(method="net", weights=args.weights)
    rows = []
    for i in range(args.rows):
        if i % 2 == 0 and same_class:
            pair = same_class.pop(0)
            truth, reference, kind = read_rgb(pair.target), read_rgb(pair.reference), "same-class"
        else:
            truth = read_rgb(bsds.pop(0))
            reference, kind = self_reference(truth), "self"
        grey = l_to_grey_rgb(rgb_to_l(truth))
        panels = [SheetPanel("grey", grey), SheetPanel(f"reference ({kind})", reference)]
        panels += [SheetPanel("match", match.colorize(grey, [reference])), SheetPanel("net", net.colorize(grey, [reference])),
                   SheetPanel("net, automatic", net.colorize(grey)), SheetPanel("truth", truth)]
        rows.append(contact_sheet(panels, height=args.height))
    # The palette row: the last BSDS photo shown, coloured from a palette instead of a reference.
    from exemplar.methods.palette import parse_palette

    palette = parse_palette(args.palette)
    side = 8 * len(palette.rgb)
    swatch = np.repeat(np.repeat(palette.rgb[None], side, axis=0), 8, axis=1)  # (8K, 8K, 3): one stripe a colour
    panels = [SheetPanel("grey", grey), SheetPanel(f"palette {args.palette}", swatch),
              SheetPanel("match (tone)", match.colorize(grey, palette=palette)),
              SheetPanel("net", net.colorize(grey, palette=palette)), SheetPanel("net, automatic", net.colorize(grey)),
              SheetPanel("truth", truth)]
    rows.append(contact_sheet(panels, height=args.height))
    # Rows of the kinds old photos are mostly of: people, faces, animals, food, rooms.
    from quality import same_kind_pairs

    for kind in [k.strip() for k in args.kinds.split(",") if k.strip()]:
        for pair in spread(same_kind_pairs(data, kind), args.per_kind):
            truth, reference = read_rgb(pair.target), read_rgb(pair.reference)
            grey = l_to_grey_rgb(rgb_to_l(truth))
            panels = [SheetPanel("grey", grey), SheetPanel(f"reference (same-kind {kind})", reference),
                      SheetPanel("match", match.colorize(grey, [reference])),
                      SheetPanel("net", net.colorize(grey, [reference])),
                      SheetPanel("net, automatic", net.colorize(grey)), SheetPanel("truth", truth)]
            rows.append(contact_sheet(panels, height=args.height))
    width = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=1.0) for r in rows])
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(np.round(sheet * 255).astype(np.uint8), cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {out} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
