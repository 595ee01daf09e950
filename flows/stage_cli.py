"""The command line every stage flow shares: `python -m flows.<stage>` from the project root.

The flows are not part of the installed package (the `arrhythmia` command is the user's
entry point and never imports them); `dvc.yaml` runs each stage this way.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from arrhythmia.console import configure_logging, run_reporting_errors


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
    return run_reporting_errors(parser.prog, lambda: print(action(args)))
