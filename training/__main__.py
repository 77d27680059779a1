"""``python -m training ...``: the same as ``exemplar train ...`` (see exemplar/cli/train.py)."""

from exemplar.cli.train import train

if __name__ == "__main__":
    train(prog_name="python -m training")
