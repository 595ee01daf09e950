"""The `arrhythmia` command: what users run by hand (diagnose records, print the results).

The pipeline stages are Prefect flows run with `python -m flows.<stage>` (see dvc.yaml);
this library never imports them. Heavy libraries (torch, mlflow) are imported only inside
the command that needs them, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from arrhythmia.console import configure_logging, run_reporting_errors


def _predict(args: argparse.Namespace) -> None:
    from arrhythmia.inference.predict import load_model, predict_record, summary, write_prediction

    model_ref = args.model
    if model_ref is None:
        from arrhythmia.config import load_params

        model_ref = load_params(args.params).paths.model
    model = load_model(model_ref)
    prediction = predict_record(args.record, model, beats_from=args.beats_from, lead=args.lead)
    info = summary(prediction, model.description, args.beats_from)
    annotation, json_path = write_prediction(prediction, args.out, info)
    counts = ", ".join(f"{c} {n}" for c, n in info["counts"].items())
    print(f"predict: {info['n_beats']} beats of record {info['record']} ({counts})")
    if "agreement_with_reference" in info:
        print(
            f"predict: agreement with the reference labels {info['agreement_with_reference']:.3f}"
        )
    print(f"predict: wrote {annotation} and {json_path}")


def _report(args: argparse.Namespace) -> None:
    from pathlib import Path

    from arrhythmia.config import load_params
    from arrhythmia.evaluation.report import results_section, update_readme

    paths = load_params(args.params).paths
    section = results_section(Path(paths.ds2_metrics), Path(paths.train_metrics))
    if args.readme:
        update_readme(Path(args.readme), section)
        print(f"report: results written into {args.readme}")
    else:
        print(section)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arrhythmia",
        description=(
            "ECG arrhythmia diagnosis: label every beat of a record with its AAMI class, and "
            "print the pipeline's results. The pipeline itself runs with `dvc repro` "
            "(each stage is `python -m flows.<stage>`)."
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
        "Classify every beat of a WFDB record (any sampling rate; resampled to the model's) "
        "and write OUT/<record>.cnn, a WFDB annotation file with one AAMI symbol per beat at "
        "the same sample, plus OUT/<record>.json, a summary.",
    )
    predict.add_argument(
        "record", help="WFDB record path without extension, e.g. data/raw/mitdb/100"
    )
    predict.add_argument(
        "--beats-from",
        default="atr",
        metavar="EXT",
        help="annotation file extension that gives the beat positions (default: %(default)s)",
    )
    predict.add_argument("--out", required=True, help="output folder")
    predict.add_argument(
        "--model",
        default=None,
        help="trained bundle (default: the pipeline's models/cnn.pt) or an MLflow URI such as "
        "models:/arrhythmia-cnn@champion",
    )
    predict.add_argument(
        "--lead",
        default=None,
        help="lead name to use first (default: MLII, else II, else the first)",
    )
    report = command(
        "report",
        _report,
        "Print the results tables (DS2 EC57 and per class, DS1 validation) from metrics/*.json; "
        "with --readme, write them into the README between its results markers.",
    )
    report.add_argument("--readme", default=None, help="README file to update in place")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    return run_reporting_errors(f"arrhythmia {args.command}", lambda: args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
