"""``python -m exemplar ...``: the same as the ``exemplar`` command (see exemplar/cli/main.py)."""

from exemplar.cli.main import main

if __name__ == "__main__":
    main(prog_name="python -m exemplar")
