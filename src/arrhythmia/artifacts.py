"""The record of the MLflow run that made the pipeline's model (written by `train`)."""

from __future__ import annotations

import json
from pathlib import Path

from arrhythmia.errors import ArrhythmiaError


def read_run(path: str | Path) -> dict:
    """{"run_id", "experiment_id", "model_uri"} of the training run."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no training run recorded (run the train stage)")
    try:
        run = json.loads(path.read_text())
        run["run_id"]
    except (ValueError, KeyError, TypeError):
        raise ArrhythmiaError(f"{path}: not a training-run record (no run_id)") from None
    return run
