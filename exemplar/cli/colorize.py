"""``exemplar colorize``: one target, colour references (given or searched) or a palette, one output file."""

import click

from exemplar.cli.options import (check_outputs, colorizer_options, find_references, hint_options, load_hints,
                                       load_palette, make_colorizer, run_job)


@click.command()
@click.argument("target", type=click.Path(dir_okay=False))
@click.option("-r", "--reference", "references", multiple=True, metavar="IMAGE",
              help="Colour reference photo; repeat to draw colours from several.")
@click.option("--palette", metavar="COLOURS",
              help="Colour from a palette instead of references: '#2a6f97:2,#f4a261' (optional :weight) "
                   "or a built-in name (sepia, autumn, summer, teal-orange, pastel, vintage, forest).")
@click.option("--palette-from", type=click.Path(dir_okay=False), metavar="IMAGE",
              help="Colour from the dominant colours of IMAGE instead of references.")
@click.option("--palette-colours", default=5, show_default=True, type=click.IntRange(1, 32),
              help="How many dominant colours --palette-from takes.")
@click.option("--reference-dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Pick references from the photos in DIR that look most like TARGET "
                   "(embeddings are cached in DIR/.exemplar_index.npz).")
@click.option("--top-k", default=3, show_default=True, type=click.IntRange(1, 32),
              help="How many references --reference-dir picks.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output image; the format follows the extension (.jpg .png .tif .webp .bmp).")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists (refused otherwise).")
@hint_options
@colorizer_options
def colorize(target, references, palette, palette_from, palette_colours, reference_dir, top_k, output, overwrite,
             hint, hints_file, method, weights, follow_reference, size, strength, max_megapixels):
    """Colorize the black-and-white photo TARGET from colour references, a palette, or automatically.

    With no reference and no palette the network colours TARGET on its own (automatic mode).
    The output has TARGET's size and its luminance; only colour is added.
    """
    if palette is not None and palette_from is not None:
        raise click.UsageError("give --palette or --palette-from, not both")
    chosen = load_palette(palette, palette_from, palette_colours)
    hints = load_hints(hint, hints_file)  # colours and count checked before any model loads
    if chosen is not None and (references or reference_dir):
        raise click.UsageError("give references (-r, --reference-dir) or a palette, not both")
    check_outputs([output], overwrite)  # before loading models and indexing a folder
    colorizer = make_colorizer(method, size, max_megapixels, weights, follow_reference)
    references = list(references)
    if reference_dir is not None:
        references += find_references(colorizer, target, reference_dir, top_k, max_megapixels)
    run_job(colorizer, target, references, output, overwrite=overwrite, strength=strength, palette=chosen, hints=hints)
    click.echo(f"wrote {output}")

