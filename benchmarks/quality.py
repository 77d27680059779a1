"""Colorization quality on the held-out photos: PSNR / SSIM, colourfulness, ImageNet agreement, histograms.

Evaluation sets (see ``exemplar/evaluation/protocols.py`` for the protocols); FOLDER is each of the val folders
bsds, scenes, people, faces, animals, food, houses, vehicles, cars:
- ``same-class``: ``val/pairs_same_class.csv``, each scene photo with another photo of its class
  as the reference (the realistic use: a reference that is similar, not the same);
- ``same-kind``: one sub-set per folder (``same-kind-people``, ...), each photo with the most similar
  OTHER photo of the same folder as the reference, by the reference search's embedding
  (exemplar.pipeline.reference_index: Lite0 features of the luminance). The choice is computed once and kept in
  ``runs/quality/same_kind_<embedding>.csv`` (recomputed for a folder whose photos changed);
- ``self-bsds``, ``self-scenes``: each photo with its own colours mirrored and cropped to 85% as the
  reference (how faithfully colours are carried over);
- ``auto``: one sub-set per folder (``auto-bsds``, ``auto-people``, ...), no reference (automatic
  colorization; not for ``match``);
- ``random``: every val photo with a photo of ANOTHER folder as the reference (seed 0): an unrelated
  reference must not do worse than no colour (PSNR >= grey);
- ``palette``: every built-in palette on val/bsds (``--limit`` photos per palette).
A sub-set can be named alone (``--sets auto-people,same-kind-faces``). Every method sees only each
target's luminance. ``grey`` (no colour at all) is the floor.

"top-1 <judge>": an ImageNet classifier (EfficientNet-Lite, ``--judge``, default Lite2) gives the output
the same top-1 class as the truth (Zhang et al.'s semantic interpretability). The network's encoder is
Lite0, so Lite2 is the independent judge; Lite0's agreement is shown beside it ("top-1 lite0") while
earlier figures were measured with it.

    python benchmarks/quality.py [--methods grey,match,net,net-follow] [--limit N] [--size 256]
                                 [--sets same-class,same-kind,self-bsds,self-scenes,auto,random,palette]
                                 [--judge lite2] [--weights DIR] [--vividness V] [--markdown] [--json FILE]

``--limit N`` keeps N photos per (sub-)set, spread evenly (the lists are sorted by class). The data
root defaults to ../shared/data relative to the repository root (``--data`` to change it).
"""

import argparse
import json
import pathlib
import sys
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run from a checkout without installing the package

from exemplar.evaluation import protocols as evaluation  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
SAME_KIND_DIR = REPO_ROOT / "runs" / "quality"
VAL_FOLDERS = ("bsds", "scenes", "people", "faces", "animals", "food", "houses", "vehicles", "cars")
SETS = ("same-class", "same-kind", "self-bsds", "self-scenes", "auto", "random", "palette")
PER_FOLDER = ("auto", "same-kind")  # sets with one sub-set per val folder
RANDOM_SEED = 0


def _photos(data, pattern):
    paths = sorted(data.glob(pattern))
    if not paths:
        raise SystemExit(f"no photos match {data / pattern}")
    return paths


def folder_photos(data, folder):
    """The photos of one val folder (scenes has a sub-folder per class), sorted."""
    return _photos(data, f"val/{folder}/*/*.jpg" if folder == "scenes" else f"val/{folder}/*.jpg")


def same_kind_pairs(data, folder, cache_dir=SAME_KIND_DIR):
    """[Pair] of the folder's photos, each with the most similar other photo of the folder as reference.

    Embeddings come from exemplar.pipeline.reference_index (kept in memory: the shared data is not ours to
    write); the choices are cached in a CSV per embedding kind, with the cosine similarity.
    """
    import csv

    from exemplar.pipeline.reference_index import EMBED_KIND

    photos = folder_photos(data, folder)
    path = cache_dir / f"same_kind_{EMBED_KIND}.csv"
    cached = {}
    if path.is_file():
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                cached.setdefault(row["folder"], {})[row["target"]] = row
    rows = cached.get(folder, {})
    if sorted(rows) != [str(p) for p in photos]:  # new, removed or moved photos: choose again
        rows = _choose_same_kind(data, folder, photos)
        cached[folder] = rows
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=["folder", "target", "reference", "similarity"])
            writer.writeheader()
            for name in sorted(cached):
                writer.writerows(cached[name][t] for t in sorted(cached[name]))
        tmp.replace(path)
    name = f"same-kind-{folder}"
    return [evaluation.Pair(p, pathlib.Path(rows[str(p)]["reference"]), name) for p in photos]


def _choose_same_kind(data, folder, photos):
    """{target path: row} by the cosine of the reference search's embeddings (never the photo itself)."""
    import numpy as np

    from exemplar.pipeline.reference_index import ReferenceIndex

    start = time.perf_counter()
    index = ReferenceIndex(data / "val" / folder, persist=False)
    by_path = {str(index.directory / name): i for i, name in enumerate(index.names)}
    similarity = index.embeddings @ index.embeddings.T  # (N, N) cosines
    similarity[~index.usable] = -np.inf  # unusable photos are nobody's reference
    np.fill_diagonal(similarity, -np.inf)
    rows = {}
    for photo in photos:
        row = similarity[:, by_path[str(photo)]]
        best = int(np.argmax(row))
        rows[str(photo)] = {"folder": folder, "target": str(photo), "reference": str(index.directory / index.names[best]),
                            "similarity": f"{row[best]:.4f}"}
    print(f"same-kind-{folder}: references chosen in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return rows


def random_pairs(data):
    """[Pair] of every val photo with a photo of another folder as its reference (fixed seed)."""
    import numpy as np

    rng = np.random.default_rng(RANDOM_SEED)
    photos = {folder: folder_photos(data, folder) for folder in VAL_FOLDERS}
    pairs = []
    for folder, targets in photos.items():
        others = [p for other, paths in photos.items() if other != folder for p in paths]
        pairs += [evaluation.Pair(t, others[i], "random") for t, i in zip(targets, rng.integers(0, len(others), len(targets)))]
    return pairs


def load_set(name, data):
    """Set or sub-set name -> [(sub-set name, list of evaluation.Pair, protocol)]."""
    if name == "same-class":
        pairs = evaluation.read_pairs(data / "val" / "pairs_same_class.csv")
        return [(name, [evaluation.Pair(p.target, p.reference, name) for p in pairs], "csv")]
    if name in ("self-bsds", "self-scenes"):
        photos = folder_photos(data, name.split("-")[1])
        return [(name, [evaluation.Pair(path, None, name) for path in photos], "self")]
    if name in PER_FOLDER:
        return [subset for folder in VAL_FOLDERS for subset in load_set(f"{name}-{folder}", data)]
    if name.startswith("auto-"):
        photos = folder_photos(data, name[len("auto-"):])
        return [(name, [evaluation.Pair(path, None, name) for path in photos], "auto")]
    if name.startswith("same-kind-"):
        return [(name, same_kind_pairs(data, name[len("same-kind-"):]), "csv")]
    if name == "random":
        return [(name, random_pairs(data), "csv")]
    from exemplar.methods.palette import BUILTIN

    photos = folder_photos(data, "bsds")
    return [(f"palette-{p}", [evaluation.Pair(path, None, f"palette-{p}") for path in photos], f"palette:{p}")
            for p in BUILTIN]


def set_names():
    """Every accepted --sets name: the sets and the per-folder sub-sets."""
    return list(SETS) + [f"{name}-{folder}" for name in PER_FOLDER for folder in VAL_FOLDERS]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="grey,match", help="comma-separated: grey, match, net, net-follow (net with the gate forced to follow the reference; default grey,match)")
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated: {', '.join(SETS)}, or one folder's "
                        "sub-set (auto-people, same-kind-faces, ...)")
    parser.add_argument("--limit", type=int, default=None, help="photos per (sub-)set, spread evenly (default: all)")
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
        if name not in set_names():
            parser.error(f"unknown set {name!r}; choose from {', '.join(SETS)} or a sub-set such as auto-people")
    loaded = [subset for name in sets for subset in load_set(name, args.data)]

    from exemplar.evaluation.imagenet_agreement import ImageNetAgreement

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
            wall = time.perf_counter() - start
            print(f"{method} / {name}: {len(rows)} pairs in {wall:.1f} s ({wall / max(len(rows), 1):.2f} s a pair, "
                  f"{stats['seconds']:.2f} s of it colorizing)", file=sys.stderr)

    print(f"size {args.size}, limit {args.limit or 'none'} (photos per set), judges {', '.join(judges)}")
    print(evaluation.summary_table(summary, label="method / set", markdown=args.markdown))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
