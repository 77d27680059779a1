"""Options and the one-file job shared by the ``colorize``, ``batch``, ``demo`` and ``restyle`` commands."""

import contextlib

import click


@contextlib.contextmanager
def user_errors():
    """Turn :class:`ExemplarError` (a problem the user can fix) into a ClickException: message, exit 1."""
    from exemplar.core.errors import ExemplarError

    try:
        yield
    except ExemplarError as error:
        raise click.ClickException(str(error)) from error


@contextlib.contextmanager
def echoed_warnings():
    """Collect :class:`ExemplarWarning` s raised inside the block and print them to stderr after it."""
    import warnings

    from exemplar.core.errors import ExemplarWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExemplarWarning)
        yield
    for warning in caught:
        click.echo(f"warning: {warning.message}", err=True)


def colorizer_options(command):
    """Add the options that choose and tune the colorizer to a click command."""
    options = [
        click.option("--method", default="net", show_default=True, type=click.Choice(["match", "net"]),
                     help="'net': the trained Gray2ColorNet-style network shipped with the package (references, palettes or none); "
                          "'match': training-free semantic correspondence."),
        click.option("--weights", type=click.Path(file_okay=False),
                     help="For --method net: a folder with default.npz and default.json (a model you trained)."),
        click.option("--follow-reference", is_flag=True,
                     help="For --method net: copy the reference's colours wherever the correspondence finds a "
                          "match, instead of the learned gate (which uses the network's own colours where the "
                          "reference does not fit)."),
        # Not passed to the command function (expose_value=False): make_colorizer reads it from the
        # click context, so commands need not thread it through their signatures.
        click.option("--vividness", type=click.FloatRange(0.0, 0.95), default=None, expose_value=False,
                     callback=_remember, metavar="V",
                     help="For --method net: 0 gives the mean of the predicted colours (safe, dull), higher "
                          "values their most likely colour (vivid, patchier); 1 - the annealed-mean "
                          "temperature. Default 0.62."),
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


def _remember(context, parameter, value):
    """Click callback: keep an option's value in the context's meta (see --vividness)."""
    context.meta[f"exemplar.{parameter.name}"] = value
    return value


def make_colorizer(method, size, max_megapixels, weights=None, follow_reference=False):
    """Build the Colorizer once per command (models load here); bad options exit 1.

    --vividness, when the command has it, comes from the click context (see colorizer_options)."""
    from exemplar.core.quiet_tensorflow import import_tensorflow_quietly

    import_tensorflow_quietly()  # before anything imports TensorFlow: no CUDA probe chatter
    from exemplar.pipeline.colorizer import Colorizer

    context = click.get_current_context(silent=True)
    vividness = context.meta.get("exemplar.vividness") if context is not None else None
    with user_errors():
        return Colorizer(method=method, size=size, max_pixels=int(max_megapixels * 1e6), weights=weights,
                         follow_reference=follow_reference, vividness=vividness)


def hint_options(command):
    """Add --hint (repeatable) and --hints FILE to a click command (values: hint, hints_file)."""
    options = [
        click.option("--hint", "hint", multiple=True, metavar="X,Y=COLOUR",
                     help="Colour hint (--method net): the spot at X,Y (pixels of the input, or percentages "
                          "like 42%,30%) is COLOUR (hex like #c0392b or a CSS name like navy); the network "
                          "spreads it over its region. Repeatable."),
        click.option("--hints", "hints_file", type=click.Path(dir_okay=False), metavar="FILE.json",
                     help="Colour hints from a JSON list of \"X,Y=COLOUR\" strings or {\"x\", \"y\", \"colour\"} objects."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def load_hints(hint, hints_file):
    """--hint and --hints FILE -> [Hint] (checked: readable colours, at most MAX_HINTS); user errors exit 1.
    Positions are checked against the photo when it is read."""
    from exemplar.methods.hints import check_hints, read_hints_file

    with user_errors():
        hints = read_hints_file(hints_file) if hints_file is not None else []
        return check_hints(hints + list(hint))


def run_job(colorizer, target, references, output, *, overwrite, strength, palette=None, hints=()):
    """Colorize one target into ``output`` (:func:`exemplar.pipeline.file_job.colorize_file`: checked first,
    written atomically); warnings go to stderr, user errors become a ClickException (exit 1).
    Returns the :class:`Colorized`."""
    from exemplar.pipeline.file_job import colorize_file

    with user_errors():
        done = colorize_file(colorizer, target, output, references, overwrite=overwrite, strength=strength,
                             palette=palette, hints=hints)
    for note in done.warnings:
        click.echo(f"warning: {note}", err=True)
    return done.colorized


def check_outputs(paths, overwrite):
    """Refuse unwritable or (without ``overwrite``) existing outputs before any work is done."""
    from exemplar.core.image_io import check_output_path

    with user_errors():
        for path in paths:
            check_output_path(path, overwrite)


def load_palette(text=None, image=None, colours=5):
    """A Palette from ``--palette`` text or ``--palette-from`` image (at most one); None for neither."""
    from exemplar.methods.palette import palette_from_image, parse_palette

    with user_errors():
        if text is not None:
            return parse_palette(text)
        if image is not None:
            return palette_from_image(image, k=colours)
    return None


def find_references(colorizer, target, directory, top_k, max_megapixels):
    """The ``top_k`` references in ``directory`` most like ``target``, printed with their similarity.

    The index is cached in the folder (see :mod:`exemplar.pipeline.reference_index`); the colorizer's
    encoder is shared when it has one. Returns a list of paths.
    """
    from exemplar.pipeline.reference_index import ReferenceIndex

    def progress(done, total):
        click.echo(f"\rindexing {directory}: {done}/{total}", nl=done == total, err=True)

    with user_errors(), echoed_warnings():
        index = ReferenceIndex(directory, encoder=colorizer.method.encoder,
                               max_pixels=int(max_megapixels * 1e6), on_progress=progress)
        matches = index.search(target, top_k=top_k)
    click.echo(f"references chosen from {directory} ({len(index.paths)} indexed):")
    for match in matches:
        click.echo(f"  {match.similarity:.3f}  {match.path}")
    return [match.path for match in matches]

