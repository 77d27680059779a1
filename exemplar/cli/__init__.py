"""The ``exemplar`` command (``main.py``) and one module per subcommand."""
