"""Options and the one-file job shared by the ``colorize``, ``batch`` and ``demo`` commands."""

import click


def colorizer_options(command):
    """Add the options that choose and tune the colorizer to a click command."""
    options = [
        click.option("--method", default="match", show_default=True, type=click.Choice(["match"]),
                     help="Colorization method: 'match' is training-free semantic correspondence."),
        click.option("--size", default=256, show_default=True, type=click.IntRange(64, 2048),
                     help="Working short side in pixels: the model sees this size, the output keeps the full size."),
        click.option("--strength", default=1.0, show_default=True, type=click.FloatRange(0.0, 1.0),
                     help="Blend between the grey input (0) and the full colorization (1)."),
        click.option("--max-megapixels", default=200.0, show_default=True, type=click.FloatRange(min=0.01),
                     help="Refuse images larger than this instead of running out of memory."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def make_colorizer(method, size, max_megapixels):
    """Build the Colorizer once per command (models load here); bad options exit 1."""
    from exemplar.colorizer import Colorizer
    from exemplar.errors import ExemplarError

    try:
        return Colorizer(method=method, size=size, max_pixels=int(max_megapixels * 1e6))
    except ExemplarError as error:
        raise click.ClickException(str(error)) from error


def run_job(colorizer, target, references, output, *, overwrite, strength):
    """Colorize one target into ``output``; user errors become a ClickException (exit 1).

    The output path is checked before any work, and written atomically after it, so a failure
    never leaves a partial file or clobbers an existing one.
    """
    import warnings

    from exemplar.colorizer import ExemplarWarning
    from exemplar.errors import ExemplarError
    from exemplar.image_io import check_output_path, write_image

    try:
        check_output_path(output, overwrite)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ExemplarWarning)
            result = colorizer.run(target, list(references), strength=strength)
        for warning in caught:
            click.echo(f"warning: {warning.message}", err=True)
        write_image(output, result.rgb, alpha=result.alpha, bit_depth=result.bit_depth, overwrite=overwrite)
    except ExemplarError as error:
        raise click.ClickException(str(error)) from error

