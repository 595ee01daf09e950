"""Flow `evaluate`: the trained model on DS2, at the reference beats and end to end.

At the reference beat positions (what the literature reports; the labels as the product gives
them: no premature beat inside the AF or flutter it finds itself): EC57 statistics (VEB/SVEB
Se and +P), per-class precision/recall/F1, accuracy, macro F1, a per-record table, plots.
End to end (what a user gets): every raw DS2 record diagnosed as `arrhythmia predict` does
(own beat detection, classes, rhythm episodes), scored against the reference beats (150 ms
matching; missed and extra beats count) and rhythm annotations (AF and VT episodes), and
the Holter-style report of one of them (params.yaml: evaluate.holter_record) written as
an example of what a cardiologist gets. All are logged to the training run in MLflow.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from arrhythmia.artifacts import read_run
from arrhythmia.config import load_params
from arrhythmia.data.beat_dataset import load_dataset
from flows.stage_cli import run_stage, stage_parser
from flows.tracking import activate_tracking


def end_to_end(paths, holter_record: str) -> tuple[dict, list[dict], Path]:
    """Diagnose every DS2 record from its raw signal and score it; pooled figures, one
    row per record, and the Holter-style report of `holter_record`."""
    from tqdm import tqdm

    from arrhythmia.data.aami import aami_labels
    from arrhythmia.data.records import DS2
    from arrhythmia.data.wfdb_io import read_beats
    from arrhythmia.detection.model import QrsDetector
    from arrhythmia.evaluation.end_to_end import (
        beat_confusion,
        pooled_statistics,
        record_row,
        rhythm_counts,
    )
    from arrhythmia.evaluation.rhythm_scoring import reference_episodes
    from arrhythmia.inference.model_handle import load_model
    from arrhythmia.inference.outputs import report
    from arrhythmia.inference.predict import read_and_diagnose
    from arrhythmia.reporting import render_holter

    model, detector = load_model(paths.model), QrsDetector.load(paths.qrs_detector)
    holter = Path(paths.evaluate_reports) / "holter.html"
    confusions, rhythms, rows = [], [], []
    for record in tqdm(DS2, desc="end to end", unit="record"):
        path = Path(paths.raw_dir) / record
        ecg, d = read_and_diagnose(path, model, detector)
        if record == holter_record:
            render_holter(d, ecg.signal, report(d, paths.model, paths.qrs_detector), holter)
        beats = read_beats(path)
        labels = aami_labels(beats.symbol)
        confusion = beat_confusion(beats.sample, labels, d.samples, d.labels, d.fs)
        rhythm = rhythm_counts(reference_episodes(str(path), d.n_samples), d.episodes, d.fs)
        confusions.append(confusion)
        rhythms.append(rhythm)
        rows.append(record_row(record, confusion, rhythm))
    return pooled_statistics(confusions, rhythms), rows, holter


@flow(name="evaluate")
def evaluate_flow(params_path: str = "params.yaml") -> dict:
    import mlflow
    import numpy as np

    from arrhythmia.atomic import write_text
    from arrhythmia.data.aami import AAMI_CLASSES
    from arrhythmia.data.records import DS2
    from arrhythmia.evaluation.at_reference import rhythm_consistent
    from arrhythmia.evaluation.ec57 import (
        evaluate_predictions,
        flatten_metrics,
        per_record_table,
        single_out_statistics,
        write_metrics_json,
    )
    from arrhythmia.evaluation.plots import (
        confusion_csv_rows,
        plot_confusion_matrix,
        plot_precision_recall,
        write_csv,
    )
    from arrhythmia.evaluation.report import (
        format_end_to_end_table,
        format_results_table,
        format_single_out_table,
    )
    from arrhythmia.models.bundle import BeatClassifier
    from arrhythmia.tracking.mlflow_setup import require_run

    params = load_params(params_path)
    paths, single_out = params.paths, params.evaluate.single_out
    reports = Path(paths.evaluate_reports)
    # Before any work: the figures must land on the run that made the model.
    run_id = read_run(paths.mlflow_run)["run_id"]
    require_run(run_id, paths.mlflow_run)
    if params.evaluate.holter_record not in DS2:
        raise ValueError(f"evaluate.holter_record {params.evaluate.holter_record!r} in "
                         f"{params_path} is not a DS2 record")  # fmt: skip
    activate_tracking()

    arrays = load_dataset(paths.dataset)
    classifier = BeatClassifier.load(paths.model)
    ds2 = arrays["split"] == "DS2"
    records = arrays["record"][ds2]
    y_true = arrays["label"][ds2].astype(np.int64)
    proba = classifier.predict_proba(
        arrays["windows"][ds2], arrays["rr"][ds2], arrays["rr_names"], records
    )
    proba = rhythm_consistent(paths.raw_dir, records, arrays["sample"][ds2], proba)
    y_pred = proba.argmax(axis=1)

    metrics = evaluate_predictions(y_true, y_pred)
    metrics.update(single_out_statistics(records, y_true, y_pred, single_out))
    write_metrics_json(paths.ds2_metrics, metrics)
    per_record = per_record_table(records, y_true, y_pred)
    write_csv(reports / "per_record.csv", per_record)
    write_csv(reports / "confusion.csv", confusion_csv_rows(y_true, y_pred, AAMI_CLASSES))
    cm_png = plot_confusion_matrix(
        np.array(metrics["confusion_matrix"]), AAMI_CLASSES, reports / "confusion_matrix.png"
    )
    pr_png = reports / "precision_recall.png"
    average_precision = plot_precision_recall(y_true, proba, AAMI_CLASSES, pr_png)
    table = format_results_table(metrics) + "\n" + format_single_out_table(metrics, single_out)
    write_text(reports / "results.md", table + "\n")

    whole, whole_rows, holter = end_to_end(paths, params.evaluate.holter_record)
    write_metrics_json(paths.ds2_end_to_end, whole)
    write_csv(reports / "end_to_end_per_record.csv", whole_rows)
    whole_table = format_end_to_end_table(whole)
    write_text(reports / "end_to_end.md", whole_table + "\n")

    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(flatten_metrics(metrics, "ds2"))
        mlflow.log_metrics(flatten_metrics(whole, "ds2_e2e"))
        mlflow.log_metrics(
            {f"ds2_ap_{c}": v for c, v in average_precision.items() if np.isfinite(v)}
        )
        for artifact in (paths.ds2_metrics, cm_png, pr_png, reports / "per_record.csv",
                         reports / "results.md", paths.ds2_end_to_end, paths.qrs_detector,
                         reports / "end_to_end_per_record.csv"):  # fmt: skip
            mlflow.log_artifact(str(artifact), artifact_path="evaluate")
        mlflow.log_artifact(str(holter), artifact_path="evaluate")  # opens in the run's page
    get_run_logger().info("DS2 (all %d beats):\n%s", len(y_true), table)
    get_run_logger().info("DS2 end to end:\n%s", whole_table)
    return {"at_reference": metrics, "end_to_end": whole}


def main(argv: list[str] | None = None) -> int:
    def action(args) -> str:
        from arrhythmia.evaluation.report import (
            format_end_to_end_table,
            format_results_table,
            format_single_out_table,
        )

        results = evaluate_flow(params_path=args.params)
        single_out = load_params(args.params).evaluate.single_out
        return (
            "DS2, every beat at the reference positions (inter-patient):\n"
            + format_results_table(results["at_reference"])
            + "\n"
            + format_single_out_table(results["at_reference"], single_out)
            + "\n\nDS2 end to end (own beat detection, 150 ms matching):\n"
            + format_end_to_end_table(results["end_to_end"])
        )

    return run_stage(stage_parser("evaluate", __doc__), argv, action)


if __name__ == "__main__":
    raise SystemExit(main())
