"""The ``exemplar`` command: a click group whose subcommands live in ``exemplar/commands/``.

Each subcommand module imports only click at module level, so ``exemplar --help`` and
``exemplar CMD --help`` are instant; TensorFlow is imported inside the command bodies.
"""

import os

import click

from exemplar import __version__
from exemplar.commands.batch import batch
from exemplar.commands.colorize import colorize
from exemplar.commands.demo import demo
from exemplar.commands.evaluate import evaluate
from exemplar.commands.restyle import restyle
from exemplar.commands.serve import serve
from exemplar.commands.train import train
from exemplar.commands.video import video


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="exemplar")
def main():
    """Reference-based photo colorization: give a black-and-white photo and a colour reference."""
    # TensorFlow's C++ start-up chatter (CPU features, no CUDA driver) is noise for CLI users;
    # TF_CPP_MIN_LOG_LEVEL=0 in the environment brings it back. The CUDA probe lines ignore this
    # setting: commands import TensorFlow through exemplar.quiet_tensorflow for those.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


main.add_command(colorize)
main.add_command(batch)
main.add_command(demo)
main.add_command(evaluate)
main.add_command(restyle)
main.add_command(serve)
main.add_command(train)
main.add_command(video)
