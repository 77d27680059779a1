"""``exemplar demo``: colorize the photo pair shipped inside the package, offline."""

import click

from exemplar.cli.options import colorizer_options, make_colorizer, run_job


@click.command()
@click.option("-o", "--output", default="exemplar_demo.jpg", show_default=True, type=click.Path(dir_okay=False),
              help="Where to write the colorized demo photo.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@colorizer_options
def demo(output, overwrite, method, weights, follow_reference, size, strength, max_megapixels):
    """Colorize the bundled black-and-white demo photo from its bundled colour reference."""
    from importlib.resources import files

    folder = files("exemplar") / "demo"
    target, reference = folder / "target.jpg", folder / "reference.jpg"
    colorizer = make_colorizer(method, size, max_megapixels, weights, follow_reference)
    run_job(colorizer, str(target), [str(reference)], output, overwrite=overwrite, strength=strength)
    click.echo(f"colorized {target.name} from {reference.name}: wrote {output}")
