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

from arrhythmia.console import EXPECTED_ERRORS, configure_logging, run_reporting_errors
from arrhythmia.errors import ArrhythmiaError


class PredictFailed(ArrhythmiaError):
    """Some records of a predict call could not be diagnosed (each was reported)."""


def diagnoser(args: argparse.Namespace):
    """Load the model and detector once (defaults from params.yaml); return the function
    that reads and diagnoses one record: record -> (ecg, diagnosis, JSON report)."""
    from arrhythmia.config import load_params
    from arrhythmia.detection.model import QrsDetector
    from arrhythmia.inference.model_handle import load_model
    from arrhythmia.inference.outputs import report
    from arrhythmia.inference.predict import read_and_diagnose

    paths = load_params(args.params).paths if args.model is None else None
    model = load_model(args.model or paths.model)
    detector, detector_path = None, None
    if args.beats_from is None and args.detector is None and model.detector is not None:
        detector, detector_path = model.detector, f"{model.description} (its own)"
    elif args.beats_from is None:
        detector_path = args.detector or (paths or load_params(args.params).paths).qrs_detector
        detector = QrsDetector.load(detector_path)

    def diagnose_one(record: str):
        ecg, d = read_and_diagnose(record, model, detector, beats_from=args.beats_from,
                                   lead=args.lead, fs=args.fs)  # fmt: skip
        return ecg, d, report(d, model.description, detector_path)

    return diagnose_one


def _predict(args: argparse.Namespace) -> None:
    """Every record in turn with one model load; a record that fails is reported on one
    line and the others still finish (exit status 1 if any failed)."""
    from pathlib import Path

    from tqdm import tqdm

    from arrhythmia.data.readers import record_name
    from arrhythmia.inference.outputs import write_diagnosis

    names = [record_name(r) for r in args.records]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise PredictFailed(f"records {repeated} would write the same output files: "
                            "diagnose them in separate calls or folders")  # fmt: skip
    diagnose = diagnoser(args)

    def diagnose_one(record: str) -> list[str]:
        ecg, d, info = diagnose(record)
        written = list(write_diagnosis(d, args.out, info))
        if args.report:
            from arrhythmia.reporting import render_holter

            written.append(render_holter(d, ecg.signal, info, Path(args.out) / f"{d.record}.html"))
        return summary_lines(d.record, info, written)

    if len(args.records) == 1:
        print("\n".join(diagnose_one(args.records[0])))
        return
    failed = []
    progress = tqdm(args.records, desc="predict", unit="record")
    for record in progress:
        try:
            progress.write("\n".join(diagnose_one(record)))
        except Exception as error:  # one record's failure must not cost the others theirs
            failed.append(record)
            kind = "" if isinstance(error, EXPECTED_ERRORS) else f"{type(error).__name__}: "
            message = f"arrhythmia predict: error: {record_name(record)}: {kind}{error}"
            progress.write(message, file=sys.stderr)
            logging.getLogger(__name__).debug("%s failed", record, exc_info=True)
    if failed:
        raise PredictFailed(f"{len(failed)} of {len(args.records)} records failed: "
                            + ", ".join(record_name(r) for r in failed))  # fmt: skip


def summary_lines(record: str, info: dict, written: list) -> list[str]:
    summary = info["summary"]
    counts = ", ".join(f"{c} {n}" for c, n in summary["beats_per_class"].items())
    rhythms = ", ".join(f"{r} {s:.0f} s" for r, s in summary["time_in_rhythm_s"].items())
    lines = [f"predict: {record}: {summary['n_beats']} beats ({counts}); {rhythms}"]
    if summary["unreadable_s"]:
        lines.append(f"predict: {record}: {summary['unreadable_s']:.0f} s unreadable")
    if "agreement_with_reference" in summary:
        lines.append(
            f"predict: {record}: agreement with the reference labels "
            f"{summary['agreement_with_reference']}"
        )
    names = [str(path) for path in written]
    lines.append(f"predict: wrote {', '.join(names[:-1])} and {names[-1]}")
    return lines


def _report(args: argparse.Namespace) -> None:
    """One record diagnosed as predict does, written as the Holter-style HTML page."""
    from arrhythmia.data.readers import record_name
    from arrhythmia.reporting import render_holter

    ecg, d, info = diagnoser(args)(args.record)
    out = args.out or f"{record_name(args.record)}.html"
    print(f"report: wrote {render_holter(d, ecg.signal, info, out)}")


def _results(args: argparse.Namespace) -> None:
    from pathlib import Path

    from arrhythmia.config import load_params
    from arrhythmia.evaluation.report import results_section

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
        help="lead name to use first (default: MLII, else II, else the first)",
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
