"""The BeatClassifier as an MLflow pyfunc: logging, loading by run and alias, serving."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.types.schema import TensorSpec

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.inference.pyfunc import (
    OUTPUT_COLUMNS,
    log_beat_classifier,
    model_signature,
    pip_requirements,
)
from arrhythmia.models.bundle import BeatClassifier
from arrhythmia.signal.rr import RR_FEATURES
from arrhythmia.tracking.registry import CHAMPION_ALIAS, MODEL_NAME, register_and_gate

PROBA_COLUMNS = [f"p_{c}" for c in AAMI_CLASSES]


def _expected(classifier_path, beats) -> np.ndarray:
    record_ids = np.zeros(len(beats.windows), dtype=np.int64)
    return BeatClassifier.load(classifier_path).predict_proba(
        beats.windows, beats.rr, RR_FEATURES, record_ids
    )


def _check_predictions(frame: pd.DataFrame, expected: np.ndarray) -> None:
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(OUTPUT_COLUMNS)
    assert len(frame) == len(expected)
    assert set(frame["label"]) <= set(AAMI_CLASSES)
    proba = frame[PROBA_COLUMNS].to_numpy()
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-6)
    assert list(frame["label"]) == [AAMI_CLASSES[i] for i in expected.argmax(axis=1)]


def test_signature_has_named_float32_tensors():
    signature = model_signature(252)
    specs = {spec.name: spec for spec in signature.inputs.inputs}
    assert set(specs) == {"windows", "rr"}
    assert all(isinstance(spec, TensorSpec) for spec in specs.values())
    assert specs["windows"].shape == (-1, 2, 252) and specs["windows"].type == np.float32
    assert specs["rr"].shape == (-1, len(RR_FEATURES)) and specs["rr"].type == np.float32
    assert signature.outputs.input_names() == list(OUTPUT_COLUMNS)


def test_log_load_predict_by_run_and_champion_alias(tracking, classifier_path, beats, tmp_path):
    with mlflow.start_run() as run:
        mlflow.log_metric("f1", 0.5)
        info = log_beat_classifier(classifier_path, beats.as_input())
    assert info.signature is not None
    assert info.signature == model_signature(252)
    expected = _expected(classifier_path, beats)

    model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert model.metadata.signature == model_signature(252)
    _check_predictions(model.predict(beats.as_input()), expected)

    decision = register_and_gate(run.info.run_id, "f1")
    assert decision.promoted
    champion = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@{CHAMPION_ALIAS}")
    _check_predictions(champion.predict(beats.as_input()), expected)

    # in-process predict enforces the tensor dtypes exactly: float64 is refused, not cast
    as_float64 = {"windows": beats.windows.astype(np.float64), "rr": beats.rr.astype(np.float64)}
    with pytest.raises(MlflowException, match="float64"):
        champion.predict(as_float64)

    # the saved input example is a small batch in the serving format
    example_path = mlflow.artifacts.download_artifacts(
        f"models:/{MODEL_NAME}@{CHAMPION_ALIAS}/serving_input_example.json",
        dst_path=str(tmp_path / "example"),
    )
    example = json.loads(Path(example_path).read_text())
    assert set(example["inputs"]) == {"windows", "rr"}
    assert 2 <= len(example["inputs"]["windows"]) <= 8
    assert np.asarray(example["inputs"]["windows"]).shape[1:] == (2, 252)


def test_logging_never_asks_pip_and_leaves_the_environment_alone(
    tracking, classifier_path, beats, monkeypatch
):
    """MLflow runs pip's resolver (online) only to merge a package named twice: each is named
    once, so logging needs no MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK, and sets none."""
    import os

    import mlflow.utils.environment as mlflow_environment
    from packaging.requirements import Requirement

    names = [Requirement(r).name.lower() for r in pip_requirements()]
    assert len(names) == len(set(names)) and "mlflow" in names

    def refuse(requirements):
        raise AssertionError(f"pip's resolver ran on {requirements}")

    monkeypatch.delenv("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK")
    monkeypatch.setattr(mlflow_environment, "_validate_version_constraints", refuse)
    with mlflow.start_run():
        log_beat_classifier(classifier_path, beats.as_input())
    assert "MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK" not in os.environ


def test_scoring_server_invocations_json_body(tracking, classifier_path, beats):
    """The exact body `mlflow models serve` accepts on /invocations for this signature."""
    from fastapi.testclient import TestClient
    from mlflow.pyfunc import scoring_server

    with mlflow.start_run() as run:
        log_beat_classifier(classifier_path, beats.as_input())
    model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    client = TestClient(scoring_server.init(model))

    body = {"inputs": {"windows": beats.windows.tolist(), "rr": beats.rr.tolist()}}
    response = client.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    predictions = pd.DataFrame(response.json()["predictions"])
    _check_predictions(predictions[list(OUTPUT_COLUMNS)], _expected(classifier_path, beats))

    bad = {"inputs": {"windows": beats.windows[:, :1].tolist(), "rr": beats.rr.tolist()}}
    assert client.post("/invocations", json=bad).status_code == 400


def test_predict_rejects_malformed_input(tracking, classifier_path, beats):
    with mlflow.start_run() as run:
        log_beat_classifier(classifier_path, beats.as_input())
    model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    python_model = model.unwrap_python_model()
    with pytest.raises(MlflowException, match="lacks"):
        python_model.predict(None, {"windows": beats.windows})
    with pytest.raises(MlflowException, match="rr"):
        python_model.predict(None, {"windows": beats.windows, "rr": beats.rr[:, :3]})
    with pytest.raises(MlflowException, match="dict of arrays"):
        python_model.predict(None, pd.DataFrame({"a": [1]}))
    empty = python_model.predict(None, {"windows": beats.windows[:0], "rr": beats.rr[:0]})
    assert list(empty.columns) == list(OUTPUT_COLUMNS) and len(empty) == 0


def test_one_nan_sample_is_a_400_not_a_label(tracking, classifier_path, beats):
    """The bug this replaced: one NaN in one window gave every beat "N" with NaN
    probabilities and HTTP 200."""
    from fastapi.testclient import TestClient
    from mlflow.pyfunc import scoring_server

    with mlflow.start_run() as run:
        log_beat_classifier(classifier_path, beats.as_input())
    model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    client = TestClient(scoring_server.init(model))
    windows = beats.windows.copy()
    windows[3, 0, 100] = np.nan
    text = json.dumps({"inputs": {"windows": windows.tolist(), "rr": beats.rr.tolist()}})
    response = client.post("/invocations", content=text,
                           headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 400
    assert "windows holds NaN or infinite values at beats [3]" in response.json()["message"]
    good = {"inputs": {"windows": beats.windows.tolist(), "rr": beats.rr.tolist()}}
    assert client.post("/invocations", json=good).status_code == 200
