"""The `arrhythmia` command: what users run by hand (diagnose records, print the results).

The pipeline stages are Prefect flows run with `python -m flows.<stage>` (see dvc.yaml);
this library never imports them. Heavy libraries (torch, mlflow) are imported only inside
the command that needs them, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from arrhythmia.console import configure_logging, run_reporting_errors


def _predict(args: argparse.Namespace) -> None:
    """Every record in turn with one model load; a record that fails is reported on one
    line and the others still finish (exit status 1 if any failed)."""
    from tqdm import tqdm

    from arrhythmia.inference.diagnoser import (
        DiagnosisOptions,
        diagnose_all_into,
        diagnose_into,
        distinct_records,
        failure_line,
        load_diagnoser,
        records_failed,
    )

    records = distinct_records(args.records)
    # records that are not there fail now, not after the model has loaded (seconds)
    missing = _missing(records)
    if len(missing) == len(records):
        raise records_failed(missing, len(records))
    diagnoser = load_diagnoser(DiagnosisOptions.from_args(args))
    page = _page_writer() if args.report else None
    if len(records) == 1:
        print("\n".join(diagnose_into(diagnoser, records[0], args.out, page)))
        return
    failed = set(missing)
    present = [record for record in records if record not in failed]
    # short records are diagnosed together (their beats classified in one model call)
    with tqdm(desc="predict", unit="record", initial=len(failed), total=len(records)) as bar:
        for record, lines in diagnose_all_into(diagnoser, present, args.out, page):
            bar.update(1)
            if isinstance(lines, Exception):  # one record's failure costs no other its own
                failed.add(record)
                bar.write(failure_line("arrhythmia predict", record, lines), file=sys.stderr)
                logging.getLogger(__name__).debug("%s failed", record, exc_info=lines)
            else:
                bar.write("\n".join(lines))
    if failed:
        raise records_failed([record for record in records if record in failed], len(records))


def _missing(records: list[str]) -> list[str]:
    """The records whose file is not there, each named on one line; a lone record's error
    is raised instead, as any other failure of a lone record is."""
    from arrhythmia.data.readers import RecordError, check_present
    from arrhythmia.inference.diagnoser import failure_line

    missing = []
    for record in records:
        try:
            check_present(record)
        except RecordError as error:
            if len(records) == 1:
                raise
            print(failure_line("arrhythmia predict", record, error), file=sys.stderr)
            missing.append(record)
    return missing


def _page_writer():
    """The Holter page's renderer, imported only by the commands that draw one."""
    from arrhythmia.reporting import render_holter

    return render_holter


def _report(args: argparse.Namespace) -> None:
    """One record diagnosed as predict does, written as the Holter-style HTML page."""
    from arrhythmia.data.readers import record_name
    from arrhythmia.inference.diagnoser import DiagnosisOptions, load_diagnoser

    ecg, d, info = load_diagnoser(DiagnosisOptions.from_args(args)).record(args.record)
    out = args.out or f"{record_name(args.record)}.html"
    print(f"report: wrote {_page_writer()(d, ecg.signal, info, out)}")


def _results(args: argparse.Namespace) -> None:
    from pathlib import Path

    from arrhythmia.config import load_params
    from arrhythmia.evaluation.tables import results_section

    paths = load_params(args.params).paths
    print(
        results_section(
            Path(paths.ds2_metrics), Path(paths.train_metrics), Path(paths.ds2_end_to_end)
        )
    )


def add_diagnosis_options(p: argparse.ArgumentParser) -> None:
    """Where beats and classes come from: the options predict and report share."""
    p.add_argument(
        "--beats-from",
        default=None,
        metavar="EXT",
        help="take beat positions from annotation file <record>.EXT (e.g. atr, to evaluate "
        "against reference beats) instead of detecting them",
    )
    p.add_argument(
        "--model",
        default=None,
        help="trained bundle (default: the pipeline's models/cnn.pt) or an MLflow URI such as "
        "models:/arrhythmia-cnn@champion",
    )
    p.add_argument(
        "--detector",
        default=None,
        help="QRS detector file (default: the one a registered raw-ECG model carries, else "
        "the pipeline's models/qrs_detector.npz)",
    )
    p.add_argument(
        "--lead",
        default=None,
        help="lead to read first (default: MLII, else II, else the first), unless dead throughout",
    )
    p.add_argument("--fs", type=float, default=None, help="sampling rate in Hz (CSV input only)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arrhythmia",
        description=(
            "ECG arrhythmia diagnosis: label every beat of a record with its AAMI class, write "
            "its Holter-style report, and print the pipeline's results. The pipeline itself "
            "runs with `dvc repro` (each stage is `python -m flows.<stage>`)."
        ),
    )
    parser.add_argument(
        "--params",
        default="params.yaml",
        help="the pipeline's parameter file, for default paths (default: %(default)s)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], None], help_text: str):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    predict = command(
        "predict",
        _predict,
        "Diagnose ECG records: find every beat (or take beats from reference annotations), "
        "label it with its AAMI class, find the rhythm episodes, and write OUT/<record>.cnn "
        "(WFDB annotations: beats plus `+` rhythm changes, as in MITDB) and OUT/<record>.json "
        "(beats, episodes, summary). Records: WFDB (path without extension), EDF/EDF+ (.edf) "
        "or CSV (.csv, one column per lead, with --fs); any sampling rate.",
    )
    predict.add_argument("records", nargs="+", metavar="RECORD", help="records to diagnose")
    predict.add_argument("--out", required=True, help="output folder")
    predict.add_argument(
        "--report",
        action="store_true",
        help="also write OUT/<record>.html, the Holter-style report (see `arrhythmia report`)",
    )
    add_diagnosis_options(predict)
    report = command(
        "report",
        _report,
        "Diagnose one ECG record as `predict` does and write its Holter-style report: one "
        "self-contained HTML page with the summary (beats per AAMI class, heart rate, ectopic "
        "beats per hour, time in each rhythm, pauses), the heart-rate trend, the beat classes "
        "over time, the episode list and ECG strips (25 mm/s, 10 mm/mV) of each beat class and "
        "rhythm found.",
    )
    report.add_argument("record", metavar="RECORD", help="record to diagnose (as for predict)")
    report.add_argument(
        "--out", default=None, help="HTML file to write (default: <record>.html here)"
    )
    add_diagnosis_options(report)
    command(
        "results",
        _results,
        "Print the results tables (DS2 EC57 and per class, DS1 validation) from "
        "metrics/*.json, as Markdown.",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    return run_reporting_errors(f"arrhythmia {args.command}", lambda: args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
