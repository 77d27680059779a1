"""Evaluation protocols: colorize grey versions of colour photos and score them against the truth.

The ground truth is the colour photo itself; the method only ever sees its luminance (a grey
(H, W) sRGB image with the photo's CIE L) plus a colour reference chosen by the protocol:

- ``csv`` (the "same-class" protocol): the reference named in the pairs CSV, e.g. another photo
  of the same scene class.
- ``self``: the target's own colour photo, mirrored left-right and centre-cropped to 85% of each
  side, so that the colours are right but nothing is pixel-aligned; measures how faithfully the
  method carries colours over.
- ``auto``: no reference at all (automatic colorization; ``net`` only).
- ``palette:NAME``: a built-in palette instead of a reference (``palette:sepia``); "hist∩ ref" is
  then the intersection with the palette's colours.

Methods: ``grey`` returns the grey input unchanged (the floor every colorizer must beat);
``match`` and ``net`` are ``exemplar.pipeline.colorizer.Colorizer`` methods, loaded once.

Per pair we record PSNR and SSIM against the truth (sRGB), the colourfulness of output and truth,
the mean Lab chroma of the output, the ab-histogram intersection of the output with the reference
and with the truth, whether an ImageNet classifier's top-1 class on the output equals its class on
the truth (:class:`exemplar.evaluation.imagenet_agreement.ImageNetAgreement`, when one is given), and the
seconds the method took (model loading excluded). ``summarize`` averages them per ``kind``.

Several judges: ``agreement={"lite2": judge, "lite0": other}`` gives each row ``top1_lite2`` and
``top1_lite0`` (tables: columns "top-1 lite2", "top-1 lite0"), and ``top1`` is the first judge's.
"""

import csv
import dataclasses
import time
from pathlib import Path

import numpy as np

from exemplar.evaluation import metrics
from exemplar.core.color import l_to_grey_rgb, rgb_to_l
from exemplar.core.errors import ExemplarError, ImageError

METHODS = ("grey", "match", "net")
PROTOCOLS = ("csv", "self", "auto", "palette")  # palette is given as "palette:NAME"
SELF_CROP = 0.85  # the self protocol's reference keeps the central 85% of each side
# Per-pair metric keys, in table order, with their column titles.
METRIC_COLUMNS = {
    "psnr": "PSNR dB",
    "ssim": "SSIM",
    "colourfulness": "colourf. out",
    "colourfulness_truth": "colourf. truth",
    "chroma": "chroma",
    "top1": "top-1 agree",  # replaced by one "top-1 NAME" column per judge where rows have top1_NAME
    "hist_ref": "hist∩ ref",
    "hist_truth": "hist∩ truth",
    "seconds": "s/pair",
}


@dataclasses.dataclass(frozen=True)
class Pair:
    """One evaluation case: a colour photo (the truth), an optional reference path and a group."""

    target: Path
    reference: Path | None
    kind: str


def read_rgb(path):
    """Read an image file as (H, W, 3) float32 sRGB in [0, 1]; ImageError if it cannot be used."""
    from exemplar.core.image_io import read_image

    return read_image(path).rgb


def _resolve(name, csv_path):
    """A CSV path cell -> existing Path: absolute, or relative to the CSV's folder or one above it.

    The fallback to the parent folders lets a CSV that lives in ``data/val/`` name its images
    relative to ``data/`` (as ``../shared/data/val/pairs_same_class.csv`` does).
    """
    path = Path(name)
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [folder / path for folder in [csv_path.parent, *csv_path.parent.parents]]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ImageError(path, f"not found (absolute, or relative to {csv_path.parent} or a folder above it)")


def read_pairs(csv_path):
    """Read a pairs CSV with header ``target,reference[,kind]`` -> list of ``Pair``.

    ``reference`` may be left empty (only the ``self`` protocol can use such rows); a missing
    ``kind`` column or cell gives kind ``"all"``.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise ExemplarError(f"{csv_path}: pairs CSV not found")
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or "target" not in reader.fieldnames:
            raise ExemplarError(f"{csv_path}: needs a header line with a 'target' column (target,reference[,kind])")
        pairs = []
        for row in reader:
            target = (row.get("target") or "").strip()
            if not target:
                raise ExemplarError(f"{csv_path}, line {reader.line_num}: empty target")
            reference = (row.get("reference") or "").strip()
            pairs.append(
                Pair(
                    target=_resolve(target, csv_path),
                    reference=_resolve(reference, csv_path) if reference else None,
                    kind=(row.get("kind") or "").strip() or "all",
                )
            )
    if not pairs:
        raise ExemplarError(f"{csv_path}: no pairs in the file")
    return pairs


def spread(items, limit):
    """At most ``limit`` items spread evenly over the list (files are often sorted by class)."""
    if limit is None or limit >= len(items):
        return list(items)
    if limit <= 0:
        return []
    return [items[i] for i in np.linspace(0, len(items) - 1, limit).round().astype(int)]


def self_reference(truth, crop=SELF_CROP):
    """The ``self`` protocol's reference: ``truth`` (H, W, 3) mirrored left-right, centre-cropped."""
    h, w = truth.shape[:2]
    ch, cw = max(1, round(h * crop)), max(1, round(w * crop))
    top, left = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(truth[top : top + ch, ::-1][:, left : left + cw])


def load_method(name, size=256, weights=None, follow_reference=False, vividness=None):
    """Method name -> function ``(grey (H, W) float [0, 1], references list, palette=None) -> (H, W, 3)``.

    Models are loaded here, once, so that the per-pair timing covers colorization only.
    weights: for ``net``, a model folder from ``python -m training.export_model`` (None: the shipped one).
    follow_reference, vividness: for ``net``, as :class:`exemplar.pipeline.colorizer.Colorizer` takes them.
    """
    if name not in METHODS:
        raise ExemplarError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    if name == "grey":
        return lambda grey, references, palette=None: np.repeat(grey[..., None], 3, axis=-1)
    from exemplar.pipeline.colorizer import Colorizer

    colorizer = Colorizer(method=name, size=size, weights=weights, follow_reference=follow_reference,
                          vividness=vividness)
    return lambda grey, references, palette=None: colorizer.colorize(grey, references=references, palette=palette)


def metric_columns(stats):
    """{key: column title} for a row or summary dict: METRIC_COLUMNS, with one ``top1_NAME`` column
    ("top-1 NAME") per judge in place of "top-1 agree" when the dict has judges' keys."""
    judges = [key for key in stats if key.startswith("top1_")]
    columns = {}
    for key, title in METRIC_COLUMNS.items():
        if key == "top1" and judges:
            columns.update({judge: f"top-1 {judge[len('top1_'):]}" for judge in judges})
        else:
            columns[key] = title
    return columns


def _agreements(agreement, output, truth):
    """{row key: 1.0 / 0.0 / NaN} from None, one judge, or {judge name: judge} (``top1`` = the first's)."""
    if agreement is None:
        return {"top1": float("nan")}
    if not isinstance(agreement, dict):
        return {"top1": agreement.agree(output, truth)}
    if not agreement:
        raise ExemplarError("agreement: an empty dict of judges")
    scores = {f"top1_{name}": judge.agree(output, truth) for name, judge in agreement.items()}
    return {"top1": next(iter(scores.values())), **scores}


def evaluate_pair(method, pair, protocol="csv", agreement=None):
    """Run ``method`` on one pair -> (metrics dict, output (H, W, 3) float32 sRGB).

    agreement: an ImageNetAgreement for the "top1" column (NaN without one), or a dict
    {judge name: ImageNetAgreement} for a ``top1_NAME`` column each (``top1`` then is the first's).
    """
    kind, _, palette_name = protocol.partition(":")
    if kind not in PROTOCOLS or (kind == "palette") != bool(palette_name):
        raise ExemplarError(f"unknown protocol {protocol!r}; choose one of csv, self, auto, palette:NAME")
    truth = read_rgb(pair.target)  # (H, W, 3) in [0, 1]
    references, palette = [], None
    if kind == "self":
        reference = self_reference(truth)
    elif kind == "auto":
        reference = None
    elif kind == "palette":
        from exemplar.methods.palette import parse_palette

        palette = parse_palette(palette_name)
        reference = metrics.ab_histogram(palette.rgb, weights=palette.weights)  # the palette's colours and shares
    elif pair.reference is None:
        raise ExemplarError(f"{pair.target}: no reference in the pairs CSV (the 'csv' protocol needs one)")
    else:
        reference = read_rgb(pair.reference)
    if kind in ("csv", "self"):
        references = [reference]
    grey = l_to_grey_rgb(rgb_to_l(truth))  # (H, W): the luminance is all the method gets

    start = time.perf_counter()
    output = np.asarray(method(grey, references, palette=palette), np.float32)
    seconds = time.perf_counter() - start
    if output.shape != truth.shape:
        raise ExemplarError(f"{pair.target}: method returned shape {output.shape}, expected {truth.shape}")
    output = np.clip(output, 0.0, 1.0)

    row = {
        "target": str(pair.target),
        "reference": {"self": "self", "auto": "none", "palette": protocol}.get(kind, str(pair.reference)),
        "kind": pair.kind,
        "psnr": metrics.psnr_rgb(output, truth),
        "ssim": metrics.ssim_rgb(output, truth),
        "colourfulness": metrics.colourfulness(output),
        "colourfulness_truth": metrics.colourfulness(truth),
        "chroma": metrics.mean_chroma(output),
        **_agreements(agreement, output, truth),
        "hist_ref": metrics.ab_histogram_intersection(output, reference) if reference is not None else float("nan"),
        "hist_truth": metrics.ab_histogram_intersection(output, truth),
        "seconds": seconds,
    }
    return row, output


def evaluate(pairs, method, protocol="csv", limit=None, save_dir=None, on_pair=None, agreement=None):
    """Evaluate ``method`` (from ``load_method``) on ``pairs`` -> list of per-pair metric dicts.

    ``limit`` keeps that many pairs spread evenly over the list; ``save_dir`` saves each output
    as ``<save_dir>/<kind>/<index>_<target stem>.png``; ``on_pair(i, n, row)`` reports progress;
    ``agreement``: an ImageNetAgreement for the top-1 column, or {judge name: ImageNetAgreement}.
    """
    pairs = spread(pairs, limit)
    rows = []
    for i, pair in enumerate(pairs):
        row, output = evaluate_pair(method, pair, protocol, agreement)
        if save_dir is not None:
            row["output"] = str(_save(output, Path(save_dir) / pair.kind / f"{i:04d}_{pair.target.stem}.png"))
        rows.append(row)
        if on_pair is not None:
            on_pair(i, len(pairs), row)
    return rows


def _save(rgb, path):
    from exemplar.core.image_io import write_image

    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, rgb, overwrite=True)
    return path


def summarize(rows):
    """Per-pair rows -> ``{kind: {"n": count, metric: mean, ...}}``, plus ``"all"`` if several kinds."""
    groups = {}
    for row in rows:
        groups.setdefault(row["kind"], []).append(row)
    if len(groups) > 1:
        groups["all"] = list(rows)
    judges = dict.fromkeys(key for row in rows for key in row if key.startswith("top1_"))  # in row order
    keys = list(METRIC_COLUMNS) + list(judges)
    return {
        kind: {"n": len(group), **{key: float(np.nanmean([r.get(key, np.nan) for r in group]))
                                   if any(np.isfinite(r.get(key, np.nan)) for r in group) else float("nan")
                                   for key in keys}}
        for kind, group in groups.items()
    }


def summary_table(summary, label="kind", markdown=False):
    """``{name: {"n", metrics...}}`` -> an aligned text table (or a markdown table) as a string.

    With judges' ``top1_NAME`` keys in any entry, one "top-1 NAME" column each (NaN where an entry lacks it).
    """
    columns = metric_columns({key: None for stats in summary.values() for key in stats})
    header = [label, "n", *columns.values()]
    lines = []
    for name, stats in summary.items():
        cells = [str(name), str(stats["n"])]
        for key in columns:
            digits = 3 if key.startswith("top1") or key in ("ssim", "hist_ref", "hist_truth", "seconds") else 2
            cells.append(f"{stats.get(key, float('nan')):.{digits}f}")
        lines.append(cells)
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
        return "\n".join(out + ["| " + " | ".join(cells) + " |" for cells in lines])
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]

    def fmt(cells):  # first column left-aligned, numbers right-aligned
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(cells) for cells in lines])
