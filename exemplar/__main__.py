"""``python -m exemplar ...``: the same as the ``exemplar`` command (see exemplar/cli.py)."""

from exemplar.cli import main

if __name__ == "__main__":
    main(prog_name="python -m exemplar")
