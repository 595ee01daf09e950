"""The `arrhythmia` command: one entry point over the pipeline stages and inference.

Heavy libraries (torch, prefect, mlflow, great_expectations) are imported only inside the
command that needs them, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

# Errors a user can act on: printed as one clear message, exit status 1, no traceback.
EXPECTED_ERRORS: tuple[str, ...] = (
    "ConfigError",
    "FetchError",
    "ValidationFailed",
    "FileNotFoundError",
    "RecordError",
    "ResumeError",
)


def _ingest(args: argparse.Namespace) -> None:
    from flows.ingest import ingest_flow

    report = ingest_flow(params_path=args.params)
    print(
        f"ingest: {len(report.fetched)} file(s) fetched, "
        f"{len(report.already_present)} already present and verified in {report.dest}"
    )


def _validate(args: argparse.Namespace) -> None:
    from flows.validate import validate_dataset_flow, validate_raw_flow

    flow = validate_raw_flow if args.target == "raw" else validate_dataset_flow
    print(flow(params_path=args.params).summary())


def _preprocess(args: argparse.Namespace) -> None:
    from flows.preprocess import format_class_counts, preprocess_flow

    counts = preprocess_flow(params_path=args.params)
    print("AAMI class counts per split:\n" + format_class_counts(counts))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arrhythmia",
        description=(
            "ECG arrhythmia diagnosis on the MIT-BIH Arrhythmia Database: each pipeline stage "
            "runs as a Prefect flow and reads its settings from params.yaml."
        ),
    )
    parser.add_argument(
        "--params", default="params.yaml", help="the pipeline's parameter file (default: %(default)s)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], None], help_text: str):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    command(
        "ingest",
        _ingest,
        "Fetch the 48 MITDB records (.hea, .dat, .atr) into data/raw/mitdb, each checked "
        "against PhysioNet's SHA256SUMS. Source: PhysioNet, or the local folder named by "
        "ARRHYTHMIA_MITDB_MIRROR. Files already present and verified are not fetched again.",
    )
    validate = command(
        "validate",
        _validate,
        "Run the Great Expectations suite on the raw records or on the beat dataset; a failed "
        "expectation exits non-zero with a summary. HTML report under reports/validation/.",
    )
    validate.add_argument("target", choices=["raw", "dataset"], help="what to validate")
    command(
        "preprocess",
        _preprocess,
        "Filter (baseline wander, power line, high-frequency noise), normalise amplitude, cut "
        "beat windows, compute RR features and AAMI labels for DS1 and DS2; writes "
        "data/processed/beats.npz and prints the class counts per split.",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        args.handler(args)
    except Exception as error:  # noqa: BLE001 - sorted into expected and unexpected below
        if type(error).__name__ not in EXPECTED_ERRORS:
            raise
        print(f"arrhythmia {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
