"""The base of every error a user can act on: the CLI prints its message, no traceback."""


class ArrhythmiaError(Exception):
    """Bad input, missing data, failed validation: a clear message names the cause."""
