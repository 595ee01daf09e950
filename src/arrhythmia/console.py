"""What every command-line entry point shares: logging set-up and one-line errors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from arrhythmia.errors import ArrhythmiaError

# Failures a user can cause and fix (bad path, unreadable record, missing run, bad params,
# an output folder that cannot be written): one line and exit status 1, never a traceback.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ArrhythmiaError, OSError)


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Prefect's client logs every API request at INFO; only its problems are worth seeing.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def run_reporting_errors(prog: str, action: Callable[[], None]) -> int:
    """Run `action`; an expected failure becomes `prog: error: ...` on stderr and status 1."""
    try:
        action()
    except EXPECTED_ERRORS as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    return 0
