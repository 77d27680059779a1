"""Palette contact sheets (issue 22): each photo in every palette, the release's look beside the new ones.

One sheet per photo, one row per palette (the 7 built-ins and a custom one), columns: the truth,
the release's palette colorization, then the semantic, grade and strict looks of this checkout.
The network runs once per photo and palette, and once per photo in automatic mode (the prior
NetColorizer passes as ``own_prior``); the looks come from those priors (as in
``benchmarks/restyle.py --only quality``). ``--small`` also writes a JPEG of the first two photos
and three palettes (truth, release, semantic, grade) for the docs; ``--only-small`` writes only it.

    python benchmarks/palette_sheet.py [--data ../shared/data] [--out /work/runs/palette/sheets]
"""

import argparse
import pathlib
import sys
import warnings

import cv2
import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.restyle import CUSTOM, DEFAULT_DATA, LOOKS, cached_inputs, cached_own_prior, release_transport  # noqa: E402

# Three portraits and three landscapes: (label, path under val/, index in the sorted folder)
PHOTOS = [("portrait-face", "faces", 0), ("portrait-fez", "bsds", 33), ("portrait-street", "people", 30),
          ("landscape-mountains", "bsds", 13), ("landscape-river", "bsds", 49), ("landscape-rocks", "bsds", 97)]
SMALL = (["portrait-fez", "landscape-mountains"], ["teal-orange", "autumn", CUSTOM])


def looks_of(colorizer, truth, palette, assign, old_assign, cached=None):
    """{look: (H, W, 3) sRGB} for one photo and palette, composed as Colorizer.run does.
    This checkout's looks get the network's automatic prior (``own_prior``) as NetColorizer passes it;
    the release's code had none.
    cached: a prior file of ``benchmarks/restyle.py --cache`` for this photo and palette, used when it
    exists (with the photo's ``_automatic.npz`` beside it)."""
    import exemplar.methods.palette_transport as transport
    from exemplar.core.color import l_to_grey_rgb, lab_to_rgb_keep_l, rgb_to_l
    from exemplar.core.guided_filter import guided_upsample

    captured = {}

    def every_look(prior, l, palette, centres, temperature, own_prior=None, **kwargs):
        captured["release"] = old_assign(prior, l, palette, centres, temperature)
        for mode in LOOKS[1:]:
            captured[mode] = assign(prior, l, palette, centres, temperature, mode=mode, report={},
                                    own_prior=own_prior)
        return captured["semantic"]

    l_full = rgb_to_l(truth)
    if cached is not None and cached.exists():
        prior, l, centres, temperature = cached_inputs(cached)
        own_prior = cached_own_prior(cached)
        if own_prior is None:
            raise SystemExit(f"{cached}: no automatic prior beside it (prime the cache with this checkout's "
                             "benchmarks/restyle.py --cache ... --prime)")
        every_look(prior, l, palette, centres, temperature, own_prior=own_prior)
    else:
        transport.assign_palette = every_look
        try:
            colorizer.run(l_to_grey_rgb(l_full), palette=palette)
        finally:
            transport.assign_palette = assign
    l_work = cv2.resize(l_full, captured["semantic"].shape[1::-1], interpolation=cv2.INTER_AREA)
    return {look: lab_to_rgb_keep_l(l_full, guided_upsample(l_work, captured[look], l_full, radius=4, eps=10.0))
            for look in LOOKS}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("/tmp/palette_sheets"))
    parser.add_argument("--release", default="2b156fd", help="git revision of the release's palette code")
    parser.add_argument("--height", type=int, default=160, help="panel height in pixels")
    parser.add_argument("--small", type=pathlib.Path, help="also write the docs' small JPEG here")
    parser.add_argument("--only-small", action="store_true", help="only the photos and palettes of the small JPEG")
    parser.add_argument("--docs", type=pathlib.Path, help="also write a JPEG of all six photos and palettes, release vs semantic")
    parser.add_argument("--cache", type=pathlib.Path, help="priors kept by benchmarks/restyle.py --cache (val/<folder>_<stem>)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import exemplar.methods.palette_transport as transport
    from exemplar.pipeline.colorizer import Colorizer
    from exemplar.core.contact_sheet import SheetPanel, contact_sheet
    from exemplar.evaluation.protocols import read_rgb
    from exemplar.methods.palette import BUILTIN, parse_palette

    colorizer = Colorizer(method="net", size=256)
    assign, old_assign = transport.assign_palette, release_transport(args.release)
    args.out.mkdir(parents=True, exist_ok=True)
    rows_small, rows_docs = [], []
    for label, folder, index in PHOTOS:
        if args.only_small and label not in SMALL[0]:
            continue
        path = sorted((args.data / "val" / folder).glob("*.jpg"))[index]
        truth = read_rgb(path)
        rows, before, after = [], [SheetPanel(label, truth)], [SheetPanel("after: semantic", truth)]
        for text in list(BUILTIN) + [CUSTOM]:
            if args.only_small and text not in SMALL[1]:
                continue
            palette = parse_palette(text)
            cached = args.cache / f"{folder}_{path.stem}_{palette.name}.npz" if args.cache else None
            looks = looks_of(colorizer, truth, palette, assign, old_assign, cached)
            swatch = (palette.rgb, palette.weights)
            panels = [SheetPanel(f"{label}", truth)] + [
                SheetPanel(f"{palette.name[:20]} {'release' if look == 'release' else look}", looks[look], swatch)
                for look in LOOKS]
            rows.append(contact_sheet(panels, height=args.height))
            before.append(SheetPanel(f"{palette.name[:12]} before", looks["release"], swatch))
            after.append(SheetPanel(f"{palette.name[:12]} after", looks["semantic"], swatch))
            if label in SMALL[0] and text in SMALL[1]:
                small_panels = [panels[0]] + [panels[1 + LOOKS.index(look)] for look in ("release", "semantic", "grade")]
                rows_small.append(contact_sheet(small_panels, height=110))
        sheet = np.concatenate(rows, axis=0)
        rows_docs += [contact_sheet(before, height=84), contact_sheet(after, height=84)]
        if not args.only_small:
            cv2.imwrite(str(args.out / f"{label}.png"), np.round(sheet[..., ::-1] * 255).astype(np.uint8))
            print(f"wrote {args.out / f'{label}.png'}", flush=True)
    if args.docs and rows_docs:
        write_rows(args.docs, rows_docs, quality=80)
    if args.small and rows_small:
        write_rows(args.small, rows_small, quality=82)


def write_rows(path, rows, quality):
    """Sheet rows (h_i, w_i, 3) sRGB in [0, 1] of any widths -> one JPEG, narrower rows padded white."""
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=1.0) for r in rows]
    image = np.round(np.concatenate(rows, axis=0)[..., ::-1] * 255).astype(np.uint8)
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
