"""Colorization quality on the held-out photos: PSNR / SSIM, colourfulness, ImageNet agreement, histograms.

Evaluation sets (see ``exemplar/evaluation.py`` for the protocols):
- ``same-class``: ``val/pairs_same_class.csv``, each scene photo with another photo of its class
  as the reference (the realistic use: a reference that is similar, not the same);
- ``self-bsds``: ``val/bsds/*.jpg`` (481x321), each with its own colours mirrored and cropped to
  85% as the reference (how faithfully colours are carried over);
- ``self-scenes``: ``val/scenes/<class>/*.jpg`` (150x150), same protocol;
- ``auto``: val/bsds and val/scenes with no reference (automatic colorization; ``net`` only);
- ``palette``: every built-in palette on val/bsds (``--limit`` photos per palette).
Every method sees only each target's luminance. ``grey`` (no colour at all) is the floor.
"top-1 <judge>": an ImageNet classifier (EfficientNet-Lite, ``--judge``, default Lite2) gives the output
the same top-1 class as the truth (Zhang et al.'s semantic interpretability). The network's encoder is
Lite0, so Lite2 is the independent judge; Lite0's agreement is shown beside it ("top-1 lite0") while
earlier figures were measured with it.

    python benchmarks/quality.py [--methods grey,match,net,net-follow] [--limit N] [--size 256]
                                 [--sets same-class,self-bsds,self-scenes,auto,palette] [--judge lite2]
                                 [--weights DIR] [--vividness V] [--markdown] [--json FILE]

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
SETS = ("same-class", "self-bsds", "self-scenes", "auto", "palette")


def _photos(data, pattern):
    paths = sorted(data.glob(pattern))
    if not paths:
        raise SystemExit(f"no photos match {data / pattern}")
    return paths


def load_set(name, data):
    """Set name -> [(sub-set name, list of evaluation.Pair, protocol)]."""
    if name == "same-class":
        pairs = evaluation.read_pairs(data / "val" / "pairs_same_class.csv")
        return [(name, [evaluation.Pair(p.target, p.reference, name) for p in pairs], "csv")]
    if name in ("self-bsds", "self-scenes"):
        pattern = {"self-bsds": "val/bsds/*.jpg", "self-scenes": "val/scenes/*/*.jpg"}[name]
        return [(name, [evaluation.Pair(path, None, name) for path in _photos(data, pattern)], "self")]
    if name == "auto":
        return [(f"auto-{kind}", [evaluation.Pair(path, None, f"auto-{kind}") for path in _photos(data, pattern)], "auto")
                for kind, pattern in (("bsds", "val/bsds/*.jpg"), ("scenes", "val/scenes/*/*.jpg"))]
    from exemplar.palette import BUILTIN

    photos = _photos(data, "val/bsds/*.jpg")
    return [(f"palette-{p}", [evaluation.Pair(path, None, f"palette-{p}") for path in photos], f"palette:{p}")
            for p in BUILTIN]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="grey,match", help="comma-separated: grey, match, net, net-follow (net with the gate forced to follow the reference; default grey,match)")
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated subset of {', '.join(SETS)}")
    parser.add_argument("--limit", type=int, default=None, help="photos per set, spread evenly (default: all)")
    parser.add_argument("--size", type=int, default=256, help="colorizer working resolution (default 256)")
    parser.add_argument("--judge", choices=("lite0", "lite1", "lite2"), default="lite2",
                        help="the ImageNet classifier whose top-1 agreement is reported first (default lite2: "
                             "not the network's Lite0 encoder); Lite0's is shown beside it")
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA, help=f"data root (default {DEFAULT_DATA})")
    parser.add_argument("--weights", type=pathlib.Path, default=None, help="net's model folder (default: the shipped model)")
    parser.add_argument("--vividness", type=float, default=None, help="net's vividness (default: the colorizer's)")
    parser.add_argument("--markdown", action="store_true", help="print the table in markdown (for the README)")
    parser.add_argument("--json", type=pathlib.Path, default=None, help="also write summary and per-pair rows to this JSON file")
    args = parser.parse_args()

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    for name in sets:
        if name not in SETS:
            parser.error(f"unknown set {name!r}; choose from {', '.join(SETS)}")
    loaded = [subset for name in sets for subset in load_set(name, args.data)]

    from exemplar.imagenet_agreement import ImageNetAgreement

    judges = {name: ImageNetAgreement(name) for name in dict.fromkeys([args.judge, "lite0"])}  # the first is "top1"
    summary = {}
    report = {"size": args.size, "limit": args.limit, "data": str(args.data), "judges": list(judges), "results": {}}
    for method in methods:
        start = time.perf_counter()
        follow = method == "net-follow"  # the gate forced to 1: exemplar colorize --follow-reference
        run = evaluation.load_method("net" if follow else method, size=args.size, weights=args.weights,
                                     follow_reference=follow, vividness=args.vividness)
        print(f"{method}: loaded in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        for name, pairs, protocol in loaded:
            if protocol == "auto" and method == "match":
                continue  # match needs a reference or a palette
            start = time.perf_counter()
            rows = evaluation.evaluate(pairs, run, protocol=protocol, limit=args.limit, agreement=judges)
            stats = evaluation.summarize(rows)[name]
            summary[f"{method} / {name}"] = stats
            report["results"][f"{method} / {name}"] = {"protocol": protocol, "summary": stats, "pairs": rows}
            print(f"{method} / {name}: {len(rows)} pairs in {time.perf_counter() - start:.1f} s", file=sys.stderr)

    print(f"size {args.size}, limit {args.limit or 'none'} (photos per set), judges {', '.join(judges)}")
    print(evaluation.summary_table(summary, label="method / set", markdown=args.markdown))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
