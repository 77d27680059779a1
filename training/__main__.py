"""``python -m training ...``: the same as ``exemplar train ...`` (see exemplar/commands/train.py)."""

from exemplar.commands.train import train

if __name__ == "__main__":
    train(prog_name="python -m training")
