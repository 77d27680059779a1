"""Is a method's PSNR gap to the grey input about how MUCH colour it paints, or WHICH colours?

PSNR against the truth rewards timid colour: grey (no colour at all) is a strong floor when the
reference is another photo. This benchmark runs a method on a pairs CSV, then scales each output's
chroma (Lab a and b times s, L kept) and prints PSNR and colourfulness for each s:

- ``uniform s``: every photo scaled alike, the trade-off any global "vividness" knob can reach;
- ``oracle``: each photo gets the s in the grid that is best for it, knowing its truth (no real
  method can do this), under a colourfulness budget (a share of the truth's colourfulness). If even
  the oracle stays below grey at the budget, no control of colour amount can close the gap: the
  hues and their placement must get closer to the truth.

    python benchmarks/chroma_frontier.py [--method net] [--limit 40] [--budget 0.7] [--size 256]
                                         [--pairs ../shared/data/val/pairs_same_class.csv]
"""

import argparse
import pathlib
import sys

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # run from a checkout without installing the package

from exemplar import color, evaluation, metrics  # noqa: E402

DEFAULT_PAIRS = REPO_ROOT.parent / "shared" / "data" / "val" / "pairs_same_class.csv"
SCALES = (0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25)


def scaled_scores(output, truth, scales):
    """(S, 2) array: PSNR and colourfulness of ``output`` with its chroma times each s (truth's L).

    Composed as the colorizer composes its outputs (``lab_to_rgb_keep_l``: out-of-gamut colours lose
    chroma, not luminance), so s = 1 scores the output itself.
    """
    l_truth, ab_out = color.rgb_to_lab(truth)[..., 0], color.rgb_to_lab(output)[..., 1:]
    scores = []
    for s in scales:
        rgb = color.lab_to_rgb_keep_l(l_truth, ab_out * s)  # (H, W, 3) in [0, 1]
        scores.append((metrics.psnr_rgb(rgb, truth), metrics.colourfulness(rgb)))
    return np.array(scores)


def oracle(psnr, colour, budget):
    """Best mean PSNR with one s per photo and mean colourfulness >= budget -> (psnr, colourfulness).

    psnr, colour: (S, N). A Lagrangian sweep: each photo takes argmax(psnr + lam * colour), and the
    smallest lam meeting the budget wins (None when even the most colourful choice misses it).
    """
    columns = np.arange(psnr.shape[1])
    for lam in np.concatenate([[0.0], np.geomspace(1e-3, 10.0, 200)]):
        pick = (psnr + lam * colour).argmax(axis=0)
        if colour[pick, columns].mean() >= budget:
            return psnr[pick, columns].mean(), colour[pick, columns].mean()
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default="net", help="match or net (default net)")
    parser.add_argument("--pairs", type=pathlib.Path, default=DEFAULT_PAIRS, help="pairs CSV (target,reference[,kind])")
    parser.add_argument("--limit", type=int, default=40, help="pairs, spread evenly over the CSV (default 40)")
    parser.add_argument("--budget", type=float, default=0.7, help="oracle's colourfulness, share of the truth's (default 0.7)")
    parser.add_argument("--size", type=int, default=256, help="colorizer working resolution (default 256)")
    parser.add_argument("--weights", type=pathlib.Path, default=None, help="net's model folder (default: the shipped one)")
    parser.add_argument("--follow-reference", action="store_true", help="net without its trust head (the raw network)")
    args = parser.parse_args()

    run = evaluation.load_method(args.method, size=args.size, weights=args.weights, follow_reference=args.follow_reference)
    pairs = evaluation.spread(evaluation.read_pairs(args.pairs), args.limit)
    per_photo, truth_colour = [], []
    for pair in pairs:
        truth = evaluation.read_rgb(pair.target)  # (H, W, 3) in [0, 1]
        _, output = evaluation.evaluate_pair(run, pair, protocol="csv")
        per_photo.append(scaled_scores(output, truth, SCALES))
        truth_colour.append(metrics.colourfulness(truth))
    scores = np.stack(per_photo, axis=1)  # (S, N, 2)
    psnr, colour = scores[..., 0], scores[..., 1]
    truth_mean = float(np.mean(truth_colour))

    print(f"{args.method} on {len(pairs)} pairs of {args.pairs.name}; truth colourfulness {truth_mean:.2f}")
    print(f"{'chroma x':>10}  {'PSNR dB':>7}  {'colourf.':>8}  {'% truth':>7}")
    for i, s in enumerate(SCALES):
        label = "grey" if s == 0 else f"{s:.2f}"
        print(f"{label:>10}  {psnr[i].mean():7.2f}  {colour[i].mean():8.2f}  {100 * colour[i].mean() / truth_mean:6.0f}%")
    best = oracle(psnr, colour, args.budget * truth_mean)
    if best is None:
        print(f"oracle: no choice of scales reaches {100 * args.budget:.0f}% of the truth's colourfulness")
    else:
        print(
            f"oracle at >= {100 * args.budget:.0f}% colourfulness: PSNR {best[0]:.2f} dB "
            f"(colourf. {best[1]:.2f}) against grey {psnr[0].mean():.2f} dB"
        )


if __name__ == "__main__":
    main()
