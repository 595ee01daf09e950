"""Flow `evaluate`: the trained model on every DS2 beat, EC57 statistics, plots, MLflow.

Classifies every DS2 beat at the reference positions; writes EC57 statistics (VEB/SVEB Se
and +P), per-class precision/recall/F1, accuracy, macro F1, a per-record table and plots,
and logs them to the training run in MLflow.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from arrhythmia.artifacts import read_run
from arrhythmia.config import load_params
from arrhythmia.data.beat_dataset import load_dataset
from flows.stage_cli import run_stage, stage_parser


@flow(name="evaluate")
def evaluate_flow(params_path: str = "params.yaml") -> dict:
    import mlflow
    import numpy as np

    from arrhythmia.atomic import write_text
    from arrhythmia.data.aami import AAMI_CLASSES
    from arrhythmia.evaluation.ec57 import (
        evaluate_predictions,
        flatten_metrics,
        per_record_table,
        write_metrics_json,
    )
    from arrhythmia.evaluation.plots import (
        confusion_csv_rows,
        plot_confusion_matrix,
        plot_precision_recall,
        write_csv,
    )
    from arrhythmia.evaluation.report import format_results_table
    from arrhythmia.models.bundle import BeatClassifier
    from arrhythmia.tracking.mlflow_setup import configure_tracking, require_run

    paths = load_params(params_path).paths
    reports = Path(paths.evaluate_reports)
    # Before any work: the figures must land on the run that made the model.
    run_id = read_run(paths.mlflow_run)["run_id"]
    require_run(run_id, paths.mlflow_run)
    configure_tracking()

    arrays = load_dataset(paths.dataset)
    classifier = BeatClassifier.load(paths.model)
    ds2 = arrays["split"] == "DS2"
    records = arrays["record"][ds2]
    y_true = arrays["label"][ds2].astype(np.int64)
    proba = classifier.predict_proba(
        arrays["windows"][ds2], arrays["rr"][ds2], arrays["rr_names"], records
    )
    y_pred = proba.argmax(axis=1)

    metrics = evaluate_predictions(y_true, y_pred)
    write_metrics_json(paths.ds2_metrics, metrics)
    per_record = per_record_table(records, y_true, y_pred)
    write_csv(reports / "per_record.csv", per_record)
    write_csv(reports / "confusion.csv", confusion_csv_rows(y_true, y_pred, AAMI_CLASSES))
    cm_png = plot_confusion_matrix(
        np.array(metrics["confusion_matrix"]), AAMI_CLASSES, reports / "confusion_matrix.png"
    )
    pr_png = reports / "precision_recall.png"
    average_precision = plot_precision_recall(y_true, proba, AAMI_CLASSES, pr_png)
    table = format_results_table(metrics)
    write_text(reports / "results.md", table + "\n")

    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(flatten_metrics(metrics, "ds2"))
        mlflow.log_metrics(
            {f"ds2_ap_{c}": v for c, v in average_precision.items() if np.isfinite(v)}
        )
        for artifact in (paths.ds2_metrics, cm_png, pr_png, reports / "per_record.csv",
                         reports / "results.md"):  # fmt: skip
            mlflow.log_artifact(str(artifact), artifact_path="evaluate")
    get_run_logger().info("DS2 (all %d beats):\n%s", len(y_true), table)
    return metrics


def main(argv: list[str] | None = None) -> int:
    def action(args) -> str:
        from arrhythmia.evaluation.report import format_results_table

        metrics = evaluate_flow(params_path=args.params)
        return "DS2, every beat (inter-patient):\n" + format_results_table(metrics)

    return run_stage(stage_parser("evaluate", __doc__), argv, action)


if __name__ == "__main__":
    raise SystemExit(main())
