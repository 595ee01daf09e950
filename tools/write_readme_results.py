"""Write the pipeline's results section into the README between its results markers (after
`make run`; `arrhythmia results` prints the same section without writing anything).

    .venv/bin/python tools/write_readme_results.py [README.md] [--params params.yaml]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from arrhythmia.atomic import write_text
from arrhythmia.config import load_params
from arrhythmia.console import run_reporting_errors
from arrhythmia.errors import ArrhythmiaError
from arrhythmia.evaluation.tables import results_section

RESULTS_START = "<!-- results:start (written by `python tools/write_readme_results.py`) -->"
RESULTS_END = "<!-- results:end -->"
# A start marker naming any command: older READMEs name `arrhythmia results --readme`.
START_MARKER = re.compile(r"<!-- results:start\b.*?-->")


class MarkersMissing(ArrhythmiaError, ValueError):
    """The README has no results markers to write between."""


def update_readme(readme: Path, section: str) -> None:
    """Replace the text between the results markers; the rest of the README is kept."""
    text = readme.read_text()
    start = START_MARKER.search(text)
    end = text.find(RESULTS_END, start.end()) if start else -1
    if end < 0:
        raise MarkersMissing(
            f"{readme}: results markers not found ({RESULTS_START!r} ... {RESULTS_END!r})"
        )
    write_text(readme, f"{text[: start.start()]}{RESULTS_START}\n{section}{text[end:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("readme", nargs="?", default="README.md", help="default: %(default)s")
    parser.add_argument("--params", default="params.yaml", help="default: %(default)s")
    args = parser.parse_args(argv)

    def action() -> None:
        paths = load_params(args.params).paths
        section = results_section(
            Path(paths.ds2_metrics), Path(paths.train_metrics), Path(paths.ds2_end_to_end)
        )
        update_readme(Path(args.readme), section)
        print(f"results: written into {args.readme}")

    return run_reporting_errors("write_readme_results", action)


if __name__ == "__main__":
    sys.exit(main())
