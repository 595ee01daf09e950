"""Flow `evaluate`: the trained model on every DS2 beat, EC57 statistics, plots, MLflow."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from arrhythmia.artifacts import model_path, read_run
from arrhythmia.config import load_params
from arrhythmia.data.beat_dataset import DATASET_FILE, load_dataset

DS2_METRICS = Path("metrics/ds2.json")
EVAL_REPORTS = Path("reports/evaluate")


@flow(name="evaluate")
def evaluate_flow(params_path: str = "params.yaml") -> dict:
    import mlflow
    import numpy as np

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
    from arrhythmia.inference.classifier import BeatClassifier
    from arrhythmia.tracking.mlflow_setup import configure_tracking

    p = load_params(params_path)
    arrays = load_dataset(Path(p.preprocess.out_dir) / DATASET_FILE)
    classifier = BeatClassifier.load(model_path(p.train.model_dir))
    ds2 = arrays["split"] == "DS2"
    records = arrays["record"][ds2]
    y_true = arrays["label"][ds2].astype(np.int64)
    proba = classifier.predict_proba(
        arrays["windows"][ds2], arrays["rr"][ds2], arrays["rr_names"], records
    )
    y_pred = proba.argmax(axis=1)

    metrics = evaluate_predictions(y_true, y_pred)
    write_metrics_json(DS2_METRICS, metrics)
    per_record = per_record_table(records, y_true, y_pred)
    write_csv(EVAL_REPORTS / "per_record.csv", per_record)
    write_csv(EVAL_REPORTS / "confusion.csv", confusion_csv_rows(y_true, y_pred, AAMI_CLASSES))
    cm_png = plot_confusion_matrix(
        np.array(metrics["confusion_matrix"]), AAMI_CLASSES, EVAL_REPORTS / "confusion_matrix.png"
    )
    pr_png = EVAL_REPORTS / "precision_recall.png"
    average_precision = plot_precision_recall(y_true, proba, AAMI_CLASSES, pr_png)
    table = format_results_table(metrics)
    (EVAL_REPORTS / "results.md").write_text(table + "\n")

    configure_tracking()
    run_id = read_run(p.train.model_dir)["run_id"]
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(flatten_metrics(metrics, "ds2"))
        mlflow.log_metrics(
            {f"ds2_ap_{c}": v for c, v in average_precision.items() if np.isfinite(v)}
        )
        for artifact in (DS2_METRICS, cm_png, pr_png, EVAL_REPORTS / "per_record.csv",
                         EVAL_REPORTS / "results.md"):  # fmt: skip
            mlflow.log_artifact(str(artifact), artifact_path="evaluate")
    get_run_logger().info("DS2 (all %d beats):\n%s", len(y_true), table)
    return metrics
