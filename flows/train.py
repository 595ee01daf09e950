"""Flow `train`: the CNN ensemble on DS1 (patient-wise folds), tracked in MLflow."""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, get_run_logger

from arrhythmia.artifacts import model_path, run_file
from arrhythmia.atomic import write_json
from arrhythmia.config import load_params, load_raw_params
from arrhythmia.data.beat_dataset import DATASET_FILE, load_dataset

TRAIN_METRICS = Path("metrics/train.json")
TRAIN_REPORTS = Path("reports/train")


@flow(name="train")
def train_flow(params_path: str = "params.yaml", resume: bool = False) -> dict:
    import mlflow

    from arrhythmia.evaluation.ec57 import flatten_metrics, write_metrics_json
    from arrhythmia.evaluation.plots import plot_training_curves, write_csv
    from arrhythmia.inference.pyfunc import log_beat_classifier
    from arrhythmia.models.cnn import model_size_bytes, parameter_count
    from arrhythmia.tracking.mlflow_setup import (
        configure_tracking,
        dvc_output_hash,
        flatten_params,
        git_commit,
    )
    from arrhythmia.training.ensemble import train_ensemble

    logger = get_run_logger()
    p = load_params(params_path)
    dataset_path = Path(p.preprocess.out_dir) / DATASET_FILE
    arrays = load_dataset(dataset_path)
    checkpoint_dir = Path(p.train.model_dir) / "checkpoints"

    started = time.monotonic()
    classifier, report = train_ensemble(
        arrays, p.train, p.preprocess, checkpoint_dir, resume=resume
    )
    train_seconds = time.monotonic() - started
    classifier_path = model_path(p.train.model_dir)
    classifier.save(classifier_path)

    models = classifier.models()
    size = {
        "n_parameters_per_model": parameter_count(models[0]),
        "n_models": len(models),
        "model_size_bytes": sum(model_size_bytes(m) for m in models),
    }
    metrics = {
        "ds1_val_score": report.val_score,
        "ds1_val_score_untuned": report.val_score_untuned,
        **flatten_metrics(report.val_metrics, "ds1_val"),
        **size,
        "best_epochs": report.best_epochs,
        "train_seconds": round(train_seconds, 1),
    }
    write_metrics_json(TRAIN_METRICS, metrics)
    history_csv = write_csv(
        TRAIN_REPORTS / "history.csv",
        [{"step": i + 1, **row} for i, row in enumerate(report.history)],
    )
    curves_png = plot_training_curves(report.history, TRAIN_REPORTS / "training_curves.png")
    write_json(TRAIN_REPORTS / "folds.json", report.folds)

    configure_tracking()
    with mlflow.start_run(run_name=f"cnn-{time.strftime('%Y%m%d-%H%M%S')}") as run:
        mlflow.log_params(flatten_params(load_raw_params(params_path)))
        mlflow.set_tags(
            {
                "git_commit": git_commit() or "unknown",
                "dataset_dvc_md5": dvc_output_hash(path=str(dataset_path)) or "untracked",
                "validation": "patient-wise folds inside DS1",
            }  # fmt: skip
        )
        for i, row in enumerate(report.history):
            fold = row["fold"]
            mlflow.log_metrics(
                {f"fold{fold}_{k}": row[k] for k in ("train_loss", "val_loss", "val_score")},
                step=row["epoch"],
            )
            mlflow.log_metric("val_score_by_step", row["val_score"], step=i + 1)
        mlflow.log_metrics({k: v for k, v in metrics.items() if isinstance(v, int | float)})
        for artifact in (TRAIN_METRICS, history_csv, curves_png, TRAIN_REPORTS / "folds.json"):
            mlflow.log_artifact(str(artifact), artifact_path="train")
        example = {
            "windows": arrays["windows"][:8],
            "rr": arrays["rr"][:8],
        }
        model_info = log_beat_classifier(classifier_path, example)
        write_json(
            run_file(p.train.model_dir),
            {
                "run_id": run.info.run_id,
                "experiment_id": run.info.experiment_id,
                "model_uri": model_info.model_uri,
            },  # fmt: skip
        )
    logger.info(
        "trained %d fold models (%d parameters each) in %.0f s; DS1 validation score %.3f "
        "(SVEB Se %.3f +P %.3f, VEB Se %.3f +P %.3f)",
        size["n_models"], size["n_parameters_per_model"], train_seconds, report.val_score,
        report.val_metrics["sveb_se"], report.val_metrics["sveb_pp"],
        report.val_metrics["veb_se"], report.val_metrics["veb_pp"],
    )  # fmt: skip
    return metrics
