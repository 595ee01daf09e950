"""A pipeline run in MLflow: the train stage's run (params, training data, tags, per-step
and final metrics, files, models) and the figures and files later stages add to it.

mlflow is imported inside the functions only, like the rest of `tracking`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arrhythmia.evaluation.ec57 import flatten_metrics
from arrhythmia.tracking.mlflow_setup import file_md5, flatten_params

DATASET_NAME = "development-beats"


@dataclass(frozen=True)
class TrainingRun:
    """What the train stage's run records (its models aside)."""

    raw_params: Mapping  # params.yaml as read: logged flat ("train.seed": ...)
    decision_offsets: dict[str, float]  # logged as params beside them
    dataset_path: Path
    arrays: Mapping[str, np.ndarray]  # the beat dataset read from dataset_path
    development: np.ndarray  # its beats the model learnt from (the run's input)
    training_sets: Sequence[str]
    steps: Sequence[tuple[dict[str, float], int]]  # (metrics, step) in logging order
    metrics: Mapping[str, object]  # the numbers among them are logged
    files: Sequence[Path]  # logged under train/
    git_commit: str | None  # the code's commit (the caller asks git: the library runs no process)


def log_training_run(run: TrainingRun, log_models: Callable[[], dict[str, str]]) -> dict[str, str]:
    """Log `run` as a new MLflow run, and its models with `log_models` (called inside the
    run; it returns their URIs): the run's ids and those URIs."""
    import mlflow

    dataset_md5 = file_md5(run.dataset_path)
    dev = run.development
    training_set = mlflow.data.from_numpy(
        {"windows": run.arrays["windows"][dev], "rr": run.arrays["rr"][dev]},
        targets=run.arrays["label"][dev],
        source=str(Path(run.dataset_path).resolve()),
        name=DATASET_NAME,
        digest=dataset_md5,  # DVC's hash of the file: the same version dvc.lock names
    )
    with mlflow.start_run(run_name=f"cnn-{time.strftime('%Y%m%d-%H%M%S')}") as active:
        mlflow.log_params(flatten_params(run.raw_params))
        mlflow.log_params(run.decision_offsets)
        mlflow.log_input(training_set, context="training")
        mlflow.set_tags(
            {
                "git_commit": run.git_commit or "unknown",
                "dataset_dvc_md5": dataset_md5,
                "validation": "patient-wise folds inside " + "+".join(run.training_sets),
            }
        )
        for metrics, step in run.steps:
            mlflow.log_metrics(metrics, step=step)
        mlflow.log_metrics({k: v for k, v in run.metrics.items() if isinstance(v, int | float)})
        for path in run.files:
            mlflow.log_artifact(str(path), artifact_path="train")
        ids = {"run_id": active.info.run_id, "experiment_id": active.info.experiment_id}
        return {**ids, **log_models()}


def log_evaluation(
    run_id: str,
    at_reference: Mapping[str, object],
    end_to_end: Mapping[str, object],
    average_precision: Mapping[str, float],
    files: Sequence[str | Path],
) -> None:
    """The test set's figures (ds2_*, ds2_e2e_*, ds2_ap_*) and the evaluate stage's files,
    added to the run that made the model."""
    import mlflow

    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(flatten_metrics(at_reference, "ds2"))
        mlflow.log_metrics(flatten_metrics(end_to_end, "ds2_e2e"))
        mlflow.log_metrics(
            {f"ds2_ap_{c}": v for c, v in average_precision.items() if np.isfinite(v)}
        )
        for path in files:
            mlflow.log_artifact(str(path), artifact_path="evaluate")
