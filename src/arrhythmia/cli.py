"""The `arrhythmia` command: one entry point over the pipeline stages and inference.

Heavy libraries (torch, prefect, mlflow, great_expectations) are imported only inside the
command that needs them, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from arrhythmia.errors import ArrhythmiaError


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


def _train(args: argparse.Namespace) -> None:
    from flows.train import train_flow

    metrics = train_flow(params_path=args.params, resume=args.resume)
    print(
        f"train: DS1 validation score {metrics['ds1_val_score']:.3f} "
        f"(SVEB Se {metrics['ds1_val_sveb_se']:.3f} +P {metrics['ds1_val_sveb_pp']:.3f}, "
        f"VEB Se {metrics['ds1_val_veb_se']:.3f} +P {metrics['ds1_val_veb_pp']:.3f})"
    )


def _evaluate(args: argparse.Namespace) -> None:
    from arrhythmia.evaluation.report import format_results_table
    from flows.evaluate import evaluate_flow

    metrics = evaluate_flow(params_path=args.params)
    print("DS2, every beat (inter-patient):\n" + format_results_table(metrics))


def _register(args: argparse.Namespace) -> None:
    from flows.register import register_flow

    decision = register_flow(params_path=args.params)
    print(f"register: {decision['reason']}")


def _predict(args: argparse.Namespace) -> None:
    from arrhythmia.inference.predict import load_model, predict_record, summary, write_prediction

    model_ref = args.model
    if model_ref is None:
        from arrhythmia.artifacts import model_path
        from arrhythmia.config import load_params

        model_ref = str(model_path(load_params(args.params).train.model_dir))
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
    from arrhythmia.evaluation.report import results_section, update_readme

    section = results_section(Path("metrics"))
    if args.readme:
        update_readme(Path(args.readme), section)
        print(f"report: results written into {args.readme}")
    else:
        print(section)


def _schedule(args: argparse.Namespace) -> None:
    from flows.pipeline import pipeline_flow, serve_schedule

    if args.once:
        pipeline_flow()
    else:
        serve_schedule(args.params)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arrhythmia",
        description=(
            "ECG arrhythmia diagnosis on the MIT-BIH Arrhythmia Database: each pipeline stage "
            "runs as a Prefect flow and reads its settings from params.yaml."
        ),
    )
    parser.add_argument(
        "--params",
        default="params.yaml",
        help="the pipeline's parameter file (default: %(default)s)",
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
    train = command(
        "train",
        _train,
        "Train the CNN on DS1 only: one model per patient-wise fold (whole records held out "
        "for early stopping and selection), shipped as their average. Checkpoints after every "
        "epoch; logs to MLflow. DS2 is never used.",
    )
    train.add_argument(
        "--resume", action="store_true", help="continue an interrupted run from its checkpoints"
    )
    command(
        "evaluate",
        _evaluate,
        "Classify every DS2 beat at the reference positions; write EC57 statistics "
        "(VEB/SVEB Se and +P), per-class precision/recall/F1, accuracy, macro F1, a per-record "
        "table and plots; log them to the training run in MLflow.",
    )
    command(
        "register",
        _register,
        "Register the trained model as a new version of the MLflow model; move the "
        "'champion' alias to it only if it beats the champion on the DS1-validation gate "
        "metric named in params.yaml.",
    )
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
    schedule = command(
        "schedule",
        _schedule,
        "Serve the whole pipeline (`dvc repro`) as a Prefect deployment on the cron schedule "
        "in params.yaml (runs until stopped); --once runs it a single time now.",
    )
    schedule.add_argument("--once", action="store_true", help="run the pipeline flow once and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Prefect's client logs every API request at INFO; only its problems are worth seeing.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        args.handler(args)
    except (ArrhythmiaError, FileNotFoundError) as error:
        print(f"arrhythmia {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
