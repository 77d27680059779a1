"""``exemplar restyle TARGET``: one photo in several styles, plus a sheet to compare them at a glance."""

import click

from exemplar.cli.options import (check_outputs, colorizer_options, find_references, hint_options, load_hints,
                                       load_palette, make_colorizer, run_job, user_errors)


@click.command()
@click.argument("target", type=click.Path(dir_okay=False))
@click.option("-r", "--reference", "references", multiple=True, metavar="IMAGE",
              help="A colour reference photo; each one is a style of its own (repeatable).")
@click.option("--palette", "palettes", multiple=True, metavar="COLOURS",
              help="A palette style: '#2a6f97:2,#f4a261' (optional :weight) or a built-in name "
                   "(sepia, autumn, summer, teal-orange, pastel, vintage, forest); repeatable. A '@MODE' "
                   "suffix ('teal-orange@grade') sets its look instead of --palette-mode.")
@click.option("--palette-mode", "palette_modes", multiple=True, type=click.Choice(["semantic", "strict", "grade"]),
              help="How palettes are laid on the photo: 'semantic' (default: each region takes the palette "
                   "colour it can plausibly have, weights are a preference), 'strict' (each colour covers its "
                   "weight's share), 'grade' (split-toning: shadows to highlights toned dark to light). "
                   "Repeat to get each palette in several looks.")
@click.option("--palette-from", "palette_images", multiple=True, type=click.Path(dir_okay=False), metavar="IMAGE",
              help="A palette style from the dominant colours of IMAGE (repeatable).")
@click.option("--palette-colours", default=5, show_default=True, type=click.IntRange(1, 32),
              help="How many dominant colours --palette-from takes.")
@click.option("--reference-dir", type=click.Path(file_okay=False), metavar="DIR",
              help="A style from the photos in DIR most like TARGET (together), named 'search'; "
                   "embeddings are cached in DIR/.exemplar_index.npz.")
@click.option("--top-k", default=3, show_default=True, type=click.IntRange(1, 32),
              help="How many references --reference-dir picks for its style.")
@click.option("--out-dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder for <stem>_<style>.png and the sheet <stem>_sheet.png (created if missing).")
@click.option("--sheet-height", default=256, show_default=True, type=click.IntRange(32, 2048),
              help="Height in pixels of each panel of the comparison sheet.")
@click.option("--overwrite", is_flag=True, help="Replace outputs that exist (refused otherwise).")
@hint_options
@colorizer_options
def restyle(target, references, palettes, palette_modes, palette_images, palette_colours, reference_dir, top_k, out_dir,
            sheet_height, overwrite, hint, hints_file, method, weights, follow_reference, size, strength,
            max_megapixels):
    """Colorize TARGET once per style and write a comparison sheet.

    Styles are any mix of references (-r), palettes (--palette, --palette-from) and a searched
    reference folder (--reference-dir); colour hints (--hint, --hints) hold in every style. Each is
    written as OUT_DIR/<stem>_<style>.png; the sheet
    OUT_DIR/<stem>_sheet.png shows the grey input first and then every style, labelled.
    Exits with status 1 if any style failed (the others are still written).
    """
    import re
    from pathlib import Path

    from exemplar.methods.palette import with_mode

    styles = [(f"ref-{Path(r).stem}", [r], None) for r in references]  # (name, references, palette)
    modes = palette_modes or ("semantic",)
    chosen = [(load_palette(text=text), "@" in text) for text in palettes]
    chosen += [(load_palette(image=image, colours=palette_colours), False) for image in palette_images]
    for palette, own_mode in chosen:  # a palette with its own @mode keeps it; the others take each --palette-mode
        for palette in [palette] if own_mode else [with_mode(palette, mode) for mode in modes]:
            styles.append((palette.name, [], palette))
    if reference_dir is not None:
        styles.append(("search", None, None))  # its references are searched once the encoder is loaded
    if not styles:
        raise click.UsageError("give at least one style: -r, --palette, --palette-from or --reference-dir")
    hints = load_hints(hint, hints_file)  # colours and count checked before any model loads

    out_dir = Path(out_dir)
    stem = Path(target).stem
    names, taken = [], {"sheet"}
    for name, _, _ in styles:  # file-safe and unique: two references may share a stem
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "style"
        unique, count = name, 1
        while unique in taken:
            count += 1
            unique = f"{name}-{count}"
        taken.add(unique)
        names.append(unique)
    outputs = [out_dir / f"{stem}_{name}.png" for name in names]
    sheet_path = out_dir / f"{stem}_sheet.png"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise click.ClickException(f"{out_dir}: cannot create the output folder ({error.strerror or error})") from error
    check_outputs(outputs + [sheet_path], overwrite)  # all refused before any work

    grey = _grey_input(target, max_megapixels)  # an unreadable target fails here, early
    if hints:
        from exemplar.methods.hints import resolve

        with user_errors():  # a hint outside the picture: one message, before any model loads
            resolve(hints, width=grey.shape[1], height=grey.shape[0])
    grey = _shrink(grey, sheet_height)
    colorizer = make_colorizer(method, size, max_megapixels, weights, follow_reference)
    from exemplar.core.contact_sheet import SheetPanel, contact_sheet

    panels, failures = [SheetPanel("input (grey)", grey)], []
    for name, (_, refs, palette), output in zip(names, styles, outputs):
        label = name
        try:
            if refs is None:
                refs = find_references(colorizer, target, reference_dir, top_k, max_megapixels)
                label = f"{name}: {', '.join(Path(r).stem for r in refs)}"  # which references were picked
            result = run_job(colorizer, target, refs, output, overwrite=overwrite, strength=strength, palette=palette,
                             hints=hints)
        except click.ClickException as error:
            failures.append(f"style {name}: {error.message}")
            continue
        click.echo(f"wrote {output}")
        swatches = None if palette is None else (palette.rgb, palette.weights)
        if palette is not None and not label.endswith(palette.mode):
            label = f"{label} ({palette.mode})"  # the sheet says which look each panel is
        panels.append(SheetPanel(label, _shrink(result.rgb, sheet_height), swatches))

    if len(panels) > 1:
        from exemplar.core.errors import ExemplarError
        from exemplar.core.image_io import write_image

        try:
            write_image(sheet_path, contact_sheet(panels, height=sheet_height), overwrite=overwrite)
            click.echo(f"wrote {sheet_path}")
        except ExemplarError as error:
            failures.append(f"sheet: {error}")
    for failure in failures:
        click.echo(f"error: {failure}", err=True)
    if failures:
        raise SystemExit(1)


def _grey_input(target, max_megapixels):
    """The target as the colorizer sees it (its luminance as grey sRGB), for the sheet's first panel."""
    from exemplar.core.color import l_to_grey_rgb, rgb_to_l_fast
    from exemplar.core.image_io import read_image

    with user_errors():
        image = read_image(target, max_pixels=int(max_megapixels * 1e6))
    return l_to_grey_rgb(rgb_to_l_fast(image.rgb))


def _shrink(rgb, height):
    """Keep only a sheet-sized copy (H, W[, 3]) of each result, so many styles of a big photo fit in memory."""
    import cv2

    if rgb.shape[0] <= 2 * height:
        return rgb
    width = max(1, round(rgb.shape[1] * 2 * height / rgb.shape[0]))
    return cv2.resize(rgb, (width, 2 * height), interpolation=cv2.INTER_AREA)
