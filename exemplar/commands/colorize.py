"""``exemplar colorize``: one target, one or more references, one output file."""

import click

from exemplar.commands.options import colorizer_options, make_colorizer, run_job


@click.command()
@click.argument("target", type=click.Path(dir_okay=False))
@click.option("-r", "--reference", "references", multiple=True, metavar="IMAGE",
              help="Colour reference photo; repeat to draw colours from several.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output image; the format follows the extension (.jpg .png .tif .webp .bmp).")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists (refused otherwise).")
@colorizer_options
def colorize(target, references, output, overwrite, method, size, strength, max_megapixels):
    """Colorize the black-and-white photo TARGET from colour references.

    The output has TARGET's size and its luminance; only colour is added.
    """
    colorizer = make_colorizer(method, size, max_megapixels)
    run_job(colorizer, target, references, output, overwrite=overwrite, strength=strength)
    click.echo(f"wrote {output}")
