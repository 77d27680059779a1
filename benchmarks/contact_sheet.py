"""A contact sheet of val pairs for the README: grey / reference / match / net following the
reference / net (default, with its trust head) / truth per row.

    python benchmarks/contact_sheet.py [--out docs/contact_sheet.jpg] [--rows 12] [--data ../shared/data]

Rows alternate between the same-class pairs of ``val/pairs_same_class.csv`` (spread over the
classes) and BSDS val photos with the ``self`` protocol (own colours, mirrored and cropped).
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
    args = parser.parse_args()

    from exemplar.color import l_to_grey_rgb, rgb_to_l
    from exemplar.colorizer import Colorizer
    from exemplar.contact_sheet import SheetPanel, contact_sheet
    from exemplar.evaluation import read_pairs, read_rgb, self_reference, spread

    data = pathlib.Path(args.data)
    same_class = spread(read_pairs(data / "val" / "pairs_same_class.csv"), args.rows - args.rows // 2)
    bsds = spread(sorted((data / "val" / "bsds").glob("*.jpg")), args.rows // 2)
    methods = {"match": Colorizer(method="match"), "net --follow-reference": Colorizer(method="net", follow_reference=True),
               "net": Colorizer(method="net")}
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
        panels += [SheetPanel(name, c.colorize(grey, [reference])) for name, c in methods.items()]
        panels.append(SheetPanel("truth", truth))
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
