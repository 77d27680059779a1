"""Exceptions exemplar raises for bad input (the CLI turns them into a message and exit code 1), and
the warning for what the user should know but did not stop the job."""


class ExemplarWarning(UserWarning):
    """Something the user should know that did not stop the job (e.g. a colour target)."""


class ExemplarError(Exception):
    """Base class: a problem the user can fix (bad file, bad option), not a bug."""


class ImageError(ExemplarError):
    """An input or output image that cannot be used; the message names the file and the problem."""

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
