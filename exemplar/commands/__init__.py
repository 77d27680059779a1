"""Subcommands of the ``exemplar`` CLI, one module each (click only at import time)."""
