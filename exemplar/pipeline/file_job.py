"""``colorize_file``: one target colorized into one output file, the job that ``exemplar colorize``
(and ``restyle``, ``demo``), ``exemplar batch``'s engines and the web server all run.

Its rules live here once:
- the output is checked (format, folder, an existing file without ``overwrite``) before any work and
  written atomically after it, so a failure never leaves a partial file or clobbers an existing one;
- the :class:`ExemplarWarning` s the job raises are collected and handed back, for each front end
  to show its way (the CLI on stderr, batch in its report, the web page as notes);
- a failure is an :class:`ExemplarError` (an :class:`ImageError` names the file it is about);
  :func:`failure` maps any error of a job to the file and the reason, for front ends that keep going.
"""

import warnings
from dataclasses import dataclass

from exemplar.core.errors import ExemplarWarning
from exemplar.core.errors import ExemplarError, ImageError
from exemplar.core.image_io import check_output_path, write_image


@dataclass(frozen=True)
class FileResult:
    """What :func:`colorize_file` wrote: the colorized target and the warnings raised on the way."""

    colorized: object  # exemplar.pipeline.colorizer.Colorized
    warnings: tuple  # the ExemplarWarning texts, in the order they were raised


def colorize_file(colorizer, target, output, references=(), *, overwrite=False, strength=1.0, palette=None,
                  vividness=None, hints=()):
    """Colorize ``target`` with ``colorizer`` (:meth:`Colorizer.run`'s options) into ``output``.

    Returns a :class:`FileResult`; raises ExemplarError / ImageError, with nothing written then.
    """
    check_output_path(output, overwrite)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExemplarWarning)
        result = colorizer.run(target, list(references), strength=strength, palette=palette, vividness=vividness,
                               hints=hints)
    notes = []
    for warning in caught:
        if issubclass(warning.category, ExemplarWarning):
            notes.append(str(warning.message))
        else:  # not ours to collect: shown as it would have been
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    write_image(output, result.rgb, alpha=result.alpha, bit_depth=result.bit_depth, overwrite=overwrite)
    return FileResult(result, tuple(notes))


def failure(error, target):
    """Any error of a :func:`colorize_file` job -> (the file it is about, the reason, a one-line message).

    An ImageError names its file (target, reference or output); another ExemplarError is a bad option
    for this target; anything else is a bug or a resource error, named as unexpected.
    """
    if isinstance(error, ImageError):
        return error.path, error.problem, str(error)
    if isinstance(error, ExemplarError):
        return str(target), str(error), str(error)
    reason = f"unexpected {type(error).__name__}: {error}"
    return str(target), reason, f"{target}: {reason}"
