"""The train stage's MLflow run and what the evaluate stage adds to it."""

from __future__ import annotations

import mlflow
import numpy as np
from mlflow import MlflowClient

from arrhythmia.tracking.mlflow_setup import file_md5
from arrhythmia.tracking.run_logging import (
    DATASET_NAME,
    TrainingRun,
    log_evaluation,
    log_training_run,
)


def _training_run(tmp_path) -> TrainingRun:
    dataset = tmp_path / "beats.npz"
    dataset.write_bytes(b"beats")
    report = tmp_path / "train.json"
    report.write_text("{}")
    arrays = {
        "windows": np.zeros((4, 2, 8), np.float32),
        "rr": np.ones((4, 3), np.float32),
        "label": np.array([0, 1, 0, 2], np.int8),
    }
    return TrainingRun(
        raw_params={"train": {"seed": 1, "widths": [4, 8]}},
        decision_offsets={"cnn_offset_S": 0.5},
        dataset_path=dataset,
        arrays=arrays,
        development=np.array([True, True, False, True]),
        training_sets=["DS1", "SVDB"],
        steps=[({"fold0_val_score": 0.2}, 1), ({"val_score_by_step": 0.2}, 1)],
        metrics={"dev_val_score": 0.2, "training_sets": ["DS1", "SVDB"], "n_models": 3},
        files=[report],
        git_commit="0123abc",
    )


def test_the_training_run_records_params_data_curves_metrics_files_and_models(tracking, tmp_path):
    client = MlflowClient()
    inside = []

    def log_models() -> dict[str, str]:
        inside.append(mlflow.active_run().info.run_id)
        return {"model_uri": "models:/m-1"}

    run = _training_run(tmp_path)
    ids = log_training_run(run, log_models)
    assert set(ids) == {"run_id", "experiment_id", "model_uri"} and inside == [ids["run_id"]]
    logged = client.get_run(ids["run_id"])
    assert logged.data.params == {"train.seed": "1", "train.widths": "[4, 8]",
                                  "cnn_offset_S": "0.5"}  # fmt: skip
    assert logged.data.metrics == {"fold0_val_score": 0.2, "val_score_by_step": 0.2,
                                   "dev_val_score": 0.2, "n_models": 3}  # fmt: skip
    assert logged.data.tags["dataset_dvc_md5"] == file_md5(run.dataset_path)
    assert logged.data.tags["validation"] == "patient-wise folds inside DS1+SVDB"
    assert logged.data.tags["git_commit"] == "0123abc"
    (dataset,) = logged.inputs.dataset_inputs
    assert dataset.dataset.name == DATASET_NAME
    assert dataset.dataset.digest == file_md5(run.dataset_path)
    assert [a.path for a in client.list_artifacts(ids["run_id"], "train")] == ["train/train.json"]

    ds2 = tmp_path / "ds2.json"
    ds2.write_text("{}")
    log_evaluation(ids["run_id"], {"veb_se": 0.9, "note": "x"}, {"qrs_se": 0.99},
                   {"N": 0.5, "F": float("nan")}, [ds2])  # fmt: skip
    metrics = client.get_run(ids["run_id"]).data.metrics
    assert metrics["ds2_veb_se"] == 0.9 and metrics["ds2_e2e_qrs_se"] == 0.99
    assert metrics["ds2_ap_N"] == 0.5 and "ds2_ap_F" not in metrics
    assert [a.path for a in client.list_artifacts(ids["run_id"], "evaluate")] == [
        "evaluate/ds2.json"
    ]
