"""Restyling: does a palette steer the colours, and does reference search find look-alikes?

(a) Palettes. ``exemplar restyle`` is run on three photos with three palettes; for each output
the ab-histogram intersection with the palette's histogram (the 21 x 21 soft histogram the
network takes, ``Palette.ab_histogram``) is printed before (the grey input) and after (the
restyled PNG), with the largest change of CIE L (palette colour must not change luminance).
The comparison sheets are left in ``--sheets`` (default /tmp/restyle_sheets) to look at.

(q) Palette quality (issue 22), on every photo of val/bsds and val/people, every built-in palette
and a custom one, in each look (semantic, strict, grade) and with the release's code (``--release``,
a git revision whose palette_transport.py is loaded for comparison), ``--method net``:
- calm: mean |gradient of ab| per pixel (forward differences, sqrt over a and b and both
  directions, at the photo's size) against the truth's own (target: at most 1.2x);
- plausible: ImageNet top-1 agreement with the truth (``ImageNetAgreement``, lite2 when it has
  it) against the grey photo's (target: at least grey - 0.05);
- palette: intersection of the output's 21 x 21 ab histogram (metrics.ab_histogram) with the
  palette's colours at their weights, as ``quality.py``'s palette protocol measures it.
The network runs once per photo and palette (and once per photo in automatic mode: the prior
NetColorizer passes as ``own_prior``, what the network paints with no palette); every look is
computed from those same priors and composed as Colorizer.run does (guided upsampling to full size,
L kept). ``--cache`` keeps them (``<set>_<stem>_<palette>.npz``, ``<set>_<stem>_automatic.npz``);
``--looks before --before REV`` adds REV's semantic look on the same priors (given the automatic
prior where REV's ``assign_palette`` takes ``own_prior``; else the palette-conditioned prior alone).

(b) Reference search. Every photo of ``val/scenes/<class>/*.jpg`` (600 photos, 6 classes) is
a target; its top-1 reference among the OTHER photos is picked with ``ReferenceIndex`` and
counted as right when it has the target's class. Times: building the index from scratch
(embedding every photo), reopening it from its cache, and the searches (each embeds its target).
The folder is mirrored by symlinks into a temporary folder so the index is not written into
the shared data.

    python benchmarks/restyle.py [--data ../shared/data] [--only palettes|search|quality] [--limit N]
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
    from exemplar.core.color import rgb_to_lab

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return rgb_to_lab(bgr[..., ::-1].astype(np.float32) / 255.0)


def palettes(data, sheets, size):
    from click.testing import CliRunner

    from exemplar.cli.main import main
    from exemplar.evaluation.metrics import histogram_intersection
    from exemplar.methods.palette import parse_palette, soft_ab_histogram

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


CUSTOM = "#2a6f97:2,#f4a261,#e9c46a"  # the custom palette
LOOKS = ("release", "semantic", "strict", "grade")  # and "before": --before's semantic look, on the same priors


def ab_gradient(rgb):
    """Mean |gradient of ab| per pixel of (H, W, 3) sRGB: forward differences, L2 over (da, db) x (x, y)."""
    from exemplar.core.color import rgb_to_lab

    ab = rgb_to_lab(rgb)[..., 1:]
    dx, dy = np.diff(ab, axis=1)[:-1], np.diff(ab, axis=0)[:, :-1]
    return float(np.sqrt((dx**2 + dy**2).sum(-1)).mean())


def cached_inputs(path):
    """A prior file written by ``--cache`` -> (prior (h4, w4, Q), l, centres, temperature), as
    NetColorizer passes them to ``assign_palette``."""
    saved = np.load(path)
    return np.exp(saved["log_prior"].astype(np.float32)), saved["l"], saved["centres"], float(saved["temperature"])


def cached_own_prior(path):
    """The automatic prior kept beside a photo's priors (``<set>_<stem>_automatic.npz``, written by
    ``--cache`` once a photo: NetColorizer's ``own_prior``) -> (h4, w4, Q), or None where not kept."""
    automatic = path.with_name(path.name.rsplit("_", 1)[0] + "_automatic.npz")
    return np.exp(np.load(automatic)["log_prior"].astype(np.float32)) if automatic.exists() else None


# Where palette_transport.py lives at a revision: exemplar/methods/ since the layout change (bbb5c57).
TRANSPORT_PATHS = ("exemplar/methods/palette_transport.py", "exemplar/palette_transport.py")


def release_transport(revision):
    """The release's ``assign_palette`` (palette_transport.py at ``revision``), loaded aside."""
    import subprocess
    import types

    for path in TRANSPORT_PATHS:
        shown = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=REPO_ROOT, capture_output=True, text=True)
        if shown.returncode == 0:
            break
    else:
        raise SystemExit(f"--release {revision}: no palette_transport.py there ({shown.stderr.strip()})")
    module = types.ModuleType("release_palette_transport")
    exec(compile(shown.stdout, f"{revision}:{path}", "exec"), module.__dict__)
    return module.assign_palette


def quality(data, size, release, limit, judge_name, out, cache=None, prime=False, sets=("bsds", "people"), split="val", looks=LOOKS,
            before=None):
    import json

    import exemplar.methods.palette_transport as transport
    from exemplar.core.color import l_to_grey_rgb, rgb_to_l
    from exemplar.pipeline.colorizer import Colorizer
    from exemplar.evaluation.protocols import read_rgb
    from exemplar.evaluation.imagenet_agreement import ImageNetAgreement
    from exemplar.evaluation.metrics import ab_histogram, histogram_intersection
    from exemplar.methods.palette import BUILTIN, parse_palette

    import inspect

    if prime:
        judge = None
    elif "model" in inspect.signature(ImageNetAgreement).parameters:  # a judge with no choice: the Lite0 checkpoint
        judge, judge_name = ImageNetAgreement(), "lite0 (the encoder's own checkpoint: no independent judge yet)"
    else:
        judge = ImageNetAgreement(judge_name)
    colorizer = Colorizer(method="net", size=size)
    assign, old_assign = transport.assign_palette, release_transport(release)
    before_assign = release_transport(before) if "before" in looks else None
    before_takes_own = before_assign is not None and "own_prior" in inspect.signature(before_assign).parameters
    palettes = [parse_palette(name) for name in BUILTIN] + [parse_palette(CUSTOM)]
    captured = {}

    def every_look(prior, l, palette, centres, temperature, own_prior=None, **kwargs):  # called by NetColorizer, once a run
        if "release" in looks:
            captured["release"] = old_assign(prior, l, palette, centres, temperature)
        if "before" in looks:  # --before's semantic look; with the automatic prior where its code takes one
            extra = {"own_prior": own_prior} if before_takes_own else {}
            captured["before"] = before_assign(prior, l, palette, centres, temperature, mode="semantic", report={},
                                               **extra)
        for mode in looks:
            if mode not in ("release", "before"):
                captured[mode] = assign(prior, l, palette, centres, temperature, mode=mode, report={},
                                        own_prior=own_prior)
        return captured[looks[-1]]

    def run_looks(grey, palette, key):
        """Every look for one photo and palette; the network's prior from ``cache`` when it holds it."""
        path = cache / f"{key}_{palette.name}.npz" if cache else None
        if path is not None and path.exists():
            prior, l, centres, temperature = cached_inputs(path)
            every_look(prior, l, palette, centres, temperature, own_prior=cached_own_prior(path))
            return
        transport.assign_palette = keep_inputs
        try:
            colorizer.run(grey, palette=palette)
        finally:
            transport.assign_palette = assign
        (prior, l, _, centres, temperature), own_prior = captured["inputs"]
        if path is not None:
            log_prior = np.log(np.maximum(prior, 1e-30)).astype(np.float16)  # log: small probabilities keep their digits
            np.savez_compressed(path, log_prior=log_prior, l=l, centres=centres, temperature=temperature)
            prior = np.exp(log_prior.astype(np.float32))  # the same prior whether cached or not
            if own_prior is not None:  # the automatic prior: one a photo, whatever the palette
                automatic = cache / f"{key}_automatic.npz"
                if not automatic.exists():
                    np.savez_compressed(automatic, log_prior=np.log(np.maximum(own_prior, 1e-30)).astype(np.float16))
                own_prior = cached_own_prior(path)
        if not prime:
            every_look(prior, l, palette, centres, temperature, own_prior=own_prior)

    def keep_inputs(*args, own_prior=None, **kwargs):  # called by NetColorizer: keep its inputs, return any ab
        captured["inputs"] = (args, own_prior)
        return np.zeros(np.shape(args[1]) + (2,), np.float32)

    if cache:
        cache.mkdir(parents=True, exist_ok=True)
    rows = {}  # (set, palette, look) -> list of (gradient, agreement, histogram intersection)
    print(f"(q) palette quality, --method net --size {size}, judge {judge_name or 'default'}, release {release}")
    for folder in sets:
        photos = sorted((data / split / folder).glob("*.jpg"))[:limit]
        for i, photo in enumerate(photos):
            truth = read_rgb(photo)
            grey = l_to_grey_rgb(rgb_to_l(truth))
            grey_rgb = np.repeat(grey[..., None], 3, axis=-1)
            if prime:  # only fill the cache
                for palette in palettes:
                    run_looks(grey, palette, f"{folder}_{photo.stem}")
                print(f"  {folder} {i + 1}/{len(photos)}", end="\r", flush=True)
                continue
            truth_class, grey_class = judge.top1([truth, grey_rgb])  # the truth is classified once
            rows.setdefault((folder, "-", "truth"), []).append((ab_gradient(truth), 1.0, np.nan))
            rows.setdefault((folder, "-", "grey"), []).append((0.0, float(grey_class == truth_class), np.nan))
            l_full = rgb_to_l(truth)
            for palette in palettes:
                target = ab_histogram(palette.rgb, weights=palette.weights)
                run_looks(grey, palette, f"{folder}_{photo.stem}")
                l_work = cv2.resize(l_full, captured[looks[0]].shape[1::-1], interpolation=cv2.INTER_AREA)
                # Composed with the colorizer's own steps, as Colorizer.run does: to full size, L kept.
                outputs = [colorizer.compose(l_full, colorizer.upsample(l_work, captured[look], l_full)) for look in looks]
                for look, rgb, top1 in zip(looks, outputs, judge.top1(outputs)):
                    rows.setdefault((folder, palette.name, look), []).append(
                        (ab_gradient(rgb), float(top1 == truth_class), histogram_intersection(ab_histogram(rgb), target)))
            print(f"  {folder} {i + 1}/{len(photos)}", end="\r", flush=True)
            if out:  # the figures so far, so a long run can be looked at before it ends
                out.write_text(json.dumps({"judge": judge_name, "release": release, "size": size, "done": f"{folder} {i + 1}",
                                           "summary": {" ".join(k): np.mean(v, axis=0).tolist() for k, v in rows.items()},
                                           "count": {" ".join(k): len(v) for k, v in rows.items()}}, indent=1))
    if prime:
        print(f"\ncache filled: {cache}")
        return
    summary = {" ".join(key): np.mean(values, axis=0).tolist() for key, values in rows.items()}
    for folder in sets:
        truth_gradient = summary[f"{folder} - truth"][0]
        grey_top1 = summary[f"{folder} - grey"][1]
        print(f"\n{folder}: truth gradient {truth_gradient:.2f}, grey top-1 {grey_top1:.3f}")
        print(f"{'palette':<22} {'look':<9} {'gradient':>8} {'x truth':>7} {'top-1':>6} {'hist':>6}")
        for palette in palettes:
            for look in looks:
                gradient, top1, hist = summary[f"{folder} {palette.name} {look}"]
                flag = "" if gradient <= 1.2 * truth_gradient and top1 >= grey_top1 - 0.05 else "  (target missed)"
                print(f"{palette.name:<22} {look:<9} {gradient:>8.2f} {gradient / truth_gradient:>6.2f}x "
                      f"{top1:>6.3f} {hist:>6.3f}{flag}")
    if out:
        out.write_text(json.dumps({"judge": judge_name, "release": release, "size": size, "limit": limit,
                                   "done": "all", "summary": summary,
                                   "count": {" ".join(k): len(v) for k, v in rows.items()}}, indent=1))
        print(f"figures: {out}")


def search(data):
    from exemplar.pipeline.reference_index import INDEX_NAME, ReferenceIndex

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
    parser.add_argument("--only", choices=["palettes", "search", "quality"], help="run one part only")
    parser.add_argument("--release", default="2b156fd", help="(q): git revision of the release's palette code")
    parser.add_argument("--limit", type=int, default=None, help="(q): the first N photos of each set only")
    parser.add_argument("--judge", default="lite2", help="(q): ImageNetAgreement's classifier, where it takes one")
    parser.add_argument("--out", type=pathlib.Path, help="(q): write the figures as JSON here")
    parser.add_argument("--cache", type=pathlib.Path, help="(q): keep the network's priors here (float16) and reuse them")
    parser.add_argument("--prime", action="store_true", help="(q): only run the network and fill --cache, no figures")
    parser.add_argument("--sets", default="bsds,people", help="(q): comma-separated folders of --split")
    parser.add_argument("--looks", default=",".join(LOOKS), help="(q): comma-separated looks to measure (release, semantic, strict, grade)")
    parser.add_argument("--split", default="val", help="(q): val, or train to tune on photos the figures do not use")
    parser.add_argument("--before", help="(q): a git revision whose semantic look is measured as the look 'before' "
                        "(with the automatic prior where that code takes it, else the palette-conditioned prior alone)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the val photos are colour photos used as grey targets
    if args.only in (None, "palettes"):
        args.sheets.mkdir(parents=True, exist_ok=True)
        palettes(args.data, args.sheets, args.size)
    if args.only in (None, "quality"):
        quality(args.data, args.size, args.release, args.limit, args.judge, args.out, args.cache, args.prime,
                tuple(args.sets.split(",")), args.split,
                tuple(args.looks.split(",")), args.before)
    if args.only in (None, "search"):
        search(args.data)


if __name__ == "__main__":
    main()
