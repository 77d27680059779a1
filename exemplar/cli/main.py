"""The ``exemplar`` command: a click group whose subcommands live in ``exemplar/cli/``.

Each subcommand module imports only click at module level, so ``exemplar --help`` and
``exemplar CMD --help`` are instant; TensorFlow is imported inside the command bodies.
"""

import os

import click

from exemplar import __version__
from exemplar.cli.batch import batch
from exemplar.cli.colorize import colorize
from exemplar.cli.demo import demo
from exemplar.cli.evaluate import evaluate
from exemplar.cli.restyle import restyle
from exemplar.cli.serve import serve
from exemplar.cli.train import train
from exemplar.cli.video import video


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="exemplar")
def main():
    """Reference-based photo colorization: give a black-and-white photo and a colour reference."""
    # TensorFlow's C++ start-up chatter (CPU features, no CUDA driver) is noise for CLI users;
    # TF_CPP_MIN_LOG_LEVEL=0 in the environment brings it back. The CUDA probe lines ignore this
    # setting: commands import TensorFlow through exemplar.core.quiet_tensorflow for those.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


main.add_command(colorize)
main.add_command(batch)
main.add_command(demo)
main.add_command(evaluate)
main.add_command(restyle)
main.add_command(serve)
main.add_command(train)
main.add_command(video)
