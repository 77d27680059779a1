"""Colorization quality on the held-out photos: PSNR / SSIM against the truth, colourfulness, ab histograms.

Three evaluation sets (see ``exemplar/evaluation.py`` for the protocols):
- ``same-class``: ``val/pairs_same_class.csv``, each scene photo with another photo of its class
  as the reference (the realistic use: a reference that is similar, not the same);
- ``self-bsds``: ``val/bsds/*.jpg`` (481x321), each with its own colours mirrored and cropped to
  85% as the reference (how faithfully colours are carried over);
- ``self-scenes``: ``val/scenes/<class>/*.jpg`` (150x150), same protocol.
Every method sees only each target's luminance. ``grey`` (no colour at all) is the floor.

    python benchmarks/quality.py [--methods grey,match[,net,net-follow]] [--limit N] [--size 256]
                                 [--sets same-class,self-bsds,self-scenes] [--weights DIR]
                                 [--markdown] [--json FILE]

``--limit N`` keeps N photos per set, spread evenly (the lists are sorted by class). The data
root defaults to ../shared/data relative to the repository root (``--data`` to change it).
"""

import argparse
import json
import pathlib
import sys
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run from a checkout without installing the package

from exemplar import evaluation  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
SETS = ("same-class", "self-bsds", "self-scenes")


def load_set(name, data):
    """Set name -> (list of evaluation.Pair, protocol)."""
    if name == "same-class":
        pairs = evaluation.read_pairs(data / "val" / "pairs_same_class.csv")
        return [evaluation.Pair(p.target, p.reference, name) for p in pairs], "csv"
    pattern = {"self-bsds": "val/bsds/*.jpg", "self-scenes": "val/scenes/*/*.jpg"}[name]
    paths = sorted(data.glob(pattern))
    if not paths:
        raise SystemExit(f"no photos match {data / pattern}")
    return [evaluation.Pair(path, None, name) for path in paths], "self"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="grey,match", help="comma-separated: grey, match, net, net-follow (net without its trust head; default grey,match)")
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated subset of {', '.join(SETS)}")
    parser.add_argument("--limit", type=int, default=None, help="photos per set, spread evenly (default: all)")
    parser.add_argument("--size", type=int, default=256, help="colorizer working resolution (default 256)")
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA, help=f"data root (default {DEFAULT_DATA})")
    parser.add_argument("--weights", type=pathlib.Path, default=None, help="net's model folder (default: the shipped model)")
    parser.add_argument("--markdown", action="store_true", help="print the table in markdown (for the README)")
    parser.add_argument("--json", type=pathlib.Path, default=None, help="also write summary and per-pair rows to this JSON file")
    args = parser.parse_args()

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    for name in sets:
        if name not in SETS:
            parser.error(f"unknown set {name!r}; choose from {', '.join(SETS)}")
    loaded = {name: load_set(name, args.data) for name in sets}

    summary, report = {}, {"size": args.size, "limit": args.limit, "data": str(args.data), "results": {}}
    for method in methods:
        start = time.perf_counter()
        follow = method == "net-follow"  # the network's raw output: exemplar colorize --follow-reference
        run = evaluation.load_method("net" if follow else method, size=args.size, weights=args.weights,
                                     follow_reference=follow)
        print(f"{method}: loaded in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        for name, (pairs, protocol) in loaded.items():
            start = time.perf_counter()
            rows = evaluation.evaluate(pairs, run, protocol=protocol, limit=args.limit)
            stats = evaluation.summarize(rows)[name]
            summary[f"{method} / {name}"] = stats
            report["results"][f"{method} / {name}"] = {"protocol": protocol, "summary": stats, "pairs": rows}
            print(f"{method} / {name}: {len(rows)} pairs in {time.perf_counter() - start:.1f} s", file=sys.stderr)

    print(f"size {args.size}, limit {args.limit or 'none'} (photos per set)")
    print(evaluation.summary_table(summary, label="method / set", markdown=args.markdown))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
