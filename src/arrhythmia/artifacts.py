"""Where the pipeline keeps the trained model and the id of the MLflow run that made it."""

from __future__ import annotations

import json
from pathlib import Path

MODEL_FILE = "cnn.pt"
RUN_FILE = "mlflow_run.json"


def model_path(model_dir: str | Path) -> Path:
    return Path(model_dir) / MODEL_FILE


def run_file(model_dir: str | Path) -> Path:
    return Path(model_dir) / RUN_FILE


def read_run(model_dir: str | Path) -> dict:
    """{"run_id", "experiment_id", "model_uri"} of the training run (written by `train`)."""
    path = run_file(model_dir)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no training run recorded (run `arrhythmia train`)")
    return json.loads(path.read_text())
