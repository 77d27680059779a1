"""The ``net`` method's decoding settings, swept: vividness (1 - the annealed-mean temperature), the
entropy band over which automatic mode's unsure colour fades to grey (net_colorizer.UNSURE_ENTROPY),
and reference mode's confident-match band (net_colorizer.FOLLOW_CONFIDENCE: from the best match's
cosine at its low end the reference's colour starts to override the learned gate, at its high end it
has) with its weaker-match band and the whole photo's band (exemplar.methods.follow_gate).

All act after the network, so the network runs once per photo and every setting re-decodes its
outputs (the encoder and the ColorNet are memoised for the photo in hand). Per val folder and setting:
PSNR, colourfulness against the truth's (mean over photos of output / truth), and top-1 agreement of
each judge (an ImageNet classifier names the same class on the output as on the truth).
``--mode same-kind`` colours each photo with its same-kind reference (benchmarks/quality.py's cached
choice, the most similar other photo of the folder) instead of automatically, adds the histogram
intersection with the reference (hist_ref) and the training-free ``match`` method's output as a row.

``--half even`` / ``--half odd`` keeps every other photo of each folder (sorted), so settings can be
chosen on one half and checked on the other.

    python benchmarks/decode_sweep.py [--folders bsds,people,...] [--half even|odd|all] [--limit N]
        [--vividness 0.5,0.62,0.75] [--unsure 0.6-0.85,0.5-0.75,off] [--judges lite2,lite1]
        [--weights DIR] [--size 256] [--json FILE]
    python benchmarks/decode_sweep.py --mode same-kind --follow 0.3-0.5,0.2-0.4,off [...]
    python benchmarks/decode_sweep.py --mode same-kind --weak 0.2-0.4/0.33-0.38,0.2-0.4/0.3-0.35,off [...]
"""

import argparse
import json
import pathlib
import sys
import time

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run from a checkout without installing the package
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from quality import DEFAULT_DATA, VAL_FOLDERS, folder_photos, same_kind_pairs  # noqa: E402


def parse_band(text):
    """"0.6-0.85" -> (0.6, 0.85); "off" -> a band above any entropy or cosine (no fading; the learned
    gate alone)."""
    if text == "off":
        return (2.0, 3.0)
    low, high = (float(v) for v in text.split("-"))
    return (low, high)


def memoise_one(function):
    """Wrap ``function(inputs, ...)`` (inputs an array or a dict of arrays) so that a call with the same
    input arrays as the last reuses its result."""
    from exemplar.methods.net_colorizer import arrays_digest

    last = {"key": None, "value": None}

    def wrapped(inputs, *args, **kwargs):
        key = arrays_digest(inputs if isinstance(inputs, dict) else {"": inputs})
        if key != last["key"]:
            last["key"], last["value"] = key, function(inputs, *args, **kwargs)
        return last["value"]

    return wrapped


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folders", default=",".join(VAL_FOLDERS), help="comma-separated val folders (default all)")
    parser.add_argument("--half", choices=("even", "odd", "all"), default="all", help="every other photo of each folder")
    parser.add_argument("--limit", type=int, default=None, help="at most N photos per folder (after --half)")
    parser.add_argument("--vividness", default="0.62", help="comma-separated vividness values")
    parser.add_argument("--unsure", default="0.6-0.85", help="comma-separated entropy bands LOW-HIGH, or off")
    parser.add_argument("--mode", choices=("auto", "same-kind"), default="auto",
                        help="automatic, or with each photo's same-kind reference (default auto)")
    parser.add_argument("--follow", default=None,
                        help="comma-separated confident-match bands LOW-HIGH (cosine), or off; default the shipped one")
    parser.add_argument("--weak", default=None,
                        help="comma-separated weaker-match bands LOW-HIGH/OVERALL_LOW-OVERALL_HIGH (cosines), or off; "
                             "default the shipped one")
    parser.add_argument("--judges", default="lite2,lite1", help="comma-separated judges (lite0, lite1, lite2)")
    parser.add_argument("--weights", type=pathlib.Path, default=None, help="model folder (default: the shipped one)")
    parser.add_argument("--size", type=int, default=256, help="working resolution (default 256)")
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA, help=f"data root (default {DEFAULT_DATA})")
    parser.add_argument("--json", type=pathlib.Path, default=None, help="write the per-photo rows to this JSON file")
    args = parser.parse_args()

    from exemplar.core.color import l_to_grey_rgb, rgb_to_l
    from exemplar.evaluation import metrics
    from exemplar.evaluation.imagenet_agreement import ImageNetAgreement
    from exemplar.evaluation.protocols import read_rgb
    from exemplar.pipeline.colorizer import Colorizer

    colorizer = Colorizer(method="net", size=args.size, weights=args.weights)
    matcher = Colorizer(method="match", size=args.size) if args.mode == "same-kind" else None
    net = colorizer.method
    net._encode = memoise_one(net._encode)  # the same photo's features for every setting
    net._net = memoise_one(net._net)
    net._decode = net._to_ab  # eager: inside the traced graph the memoised ColorNet would run at every call
    judges = {name: ImageNetAgreement(name) for name in args.judges.split(",")}
    follows = args.follow.split(",") if args.follow else ["{:g}-{:g}".format(*net.follow_confidence)]
    weaks = args.weak.split(",") if args.weak else ["{:g}-{:g}/{:g}-{:g}".format(*net.follow_weak)]
    settings = [(float(v), band, follow, weak) for v in args.vividness.split(",") for band in args.unsure.split(",")
                for follow in follows for weak in weaks]

    rows = []
    start = time.perf_counter()
    for folder in args.folders.split(","):
        if args.mode == "auto":
            pairs = [(path, None) for path in folder_photos(args.data, folder)]
        else:
            pairs = [(pair.target, pair.reference) for pair in same_kind_pairs(args.data, folder)]
        pairs = {"even": pairs[0::2], "odd": pairs[1::2], "all": pairs}[args.half][: args.limit]
        for path, reference_path in pairs:
            truth = read_rgb(path)
            references = [] if reference_path is None else [read_rgb(reference_path)]
            grey = l_to_grey_rgb(rgb_to_l(truth))  # (H, W): the luminance is all the network gets
            truth_class = {name: judge.top1([truth])[0] for name, judge in judges.items()}
            truth_colour = metrics.colourfulness(truth)
            outputs = {"grey": np.repeat(grey[..., None], 3, axis=-1)}
            if matcher is not None:
                outputs["match"] = np.clip(matcher.colorize(grey, references), 0.0, 1.0)
            for vividness, band, follow, weak in settings:
                net.temperature, net.unsure_entropy = 1.0 - vividness, parse_band(band)
                net.follow_confidence = parse_band(follow)
                net.follow_weak = parse_band(weak.split("/")[0]) + parse_band(weak.split("/")[-1])
                name = f"{vividness:g} {band}" + (f" follow {follow} weak {weak}" if references else "")
                outputs[name] = np.clip(colorizer.colorize(grey, references), 0.0, 1.0)
            for setting, output in outputs.items():
                row = {"folder": folder, "photo": path.name, "setting": setting,
                       "psnr": metrics.psnr_rgb(output, truth),
                       "colour_ratio": metrics.colourfulness(output) / max(truth_colour, 1e-6)}
                if references:
                    row["hist_ref"] = metrics.ab_histogram_intersection(output, references[0])
                for name, judge in judges.items():
                    row[f"top1_{name}"] = float(judge.top1([output])[0] == truth_class[name])
                rows.append(row)
        print(f"{folder}: {len(pairs)} photos, {time.perf_counter() - start:.0f} s", file=sys.stderr)

    if args.json is not None:
        args.json.write_text(json.dumps(rows))
    columns = ["psnr", "colour_ratio"] + (["hist_ref"] if args.mode == "same-kind" else []) + [f"top1_{name}" for name in judges]
    print("| folder | setting | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for folder in args.folders.split(",") + ["all"]:
        chosen = [r for r in rows if folder in ("all", r["folder"])]
        for setting in dict.fromkeys(r["setting"] for r in chosen):
            values = [[r[c] for r in chosen if r["setting"] == setting] for c in columns]
            print(f"| {folder} | {setting} | " + " | ".join(f"{np.mean(v):.3f}" for v in values) + " |")


if __name__ == "__main__":
    main()
