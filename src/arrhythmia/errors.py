"""The base of every error a user can act on: the CLI prints its message, no traceback."""


class ArrhythmiaError(Exception):
    """Bad input, missing data, failed validation: a clear message names the cause."""


def first_line(error: BaseException) -> str:
    """The first line of an error's message (its type name when it has none): the part of a
    library's long message worth quoting in a one-line error."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
