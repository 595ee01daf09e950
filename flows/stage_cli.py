"""The command line every stage flow shares: `python -m flows.<stage>` from the project root.

The flows are not part of the installed package (the `arrhythmia` command is the user's
entry point and never imports them); `dvc.yaml` runs each stage this way.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable

from arrhythmia.console import EXPECTED_ERRORS, configure_logging, run_reporting_errors

# Prefect logs a failed run's exception with its traceback; for a failure the user caused
# (bad path, missing run, failed validation) the one-line message says all there is.
PREFECT_RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


class _ExpectedErrorsWithoutTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], EXPECTED_ERRORS):
            record.exc_info, record.exc_text = None, None
        return True


def stage_parser(stage: str, description: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m flows.{stage}", description=description)
    parser.add_argument(
        "--params", default="params.yaml", help="the pipeline's parameter file (%(default)s)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def run_stage(
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    action: Callable[[argparse.Namespace], str],
) -> int:
    """Parse, run the flow, print its summary; expected failures are one line and exit 1."""
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    if not args.verbose:
        for name in PREFECT_RUN_LOGGERS:
            logging.getLogger(name).addFilter(_ExpectedErrorsWithoutTraceback())
    return run_reporting_errors(parser.prog, lambda: print(action(args)))
