"""The raw-ECG diagnosis as an MLflow pyfunc: logged with its signature, it answers a real
excerpt with the same JSON as `arrhythmia predict` (a dead MLII lead included), and refuses
each bad request with a 400 that says what is wrong (MLflow's own scoring app, in process),
never with a NaN."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pytest
import wfdb
from mlflow.exceptions import MlflowException
from mlflow.types.schema import TensorSpec

from arrhythmia.cli import main
from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.detection.model import QrsDetector
from arrhythmia.inference.diagnosis_pyfunc import diagnosis_signature, log_diagnosis_model
from arrhythmia.inference.model_handle import load_model
from arrhythmia.inference.outputs import diagnosis_json
from arrhythmia.inference.predict import diagnose_signal
from arrhythmia.inference.request import ecg_from_request
from tests.helpers import bad_requests

FS = 360.0
LEADS = ["MLII", "V5"]


@pytest.fixture
def excerpt_signal(excerpt_dir) -> np.ndarray:
    return wfdb.rdrecord(str(excerpt_dir / "100")).p_signal.astype(np.float32)


@pytest.fixture
def served(tracking, bundle, detector_file, excerpt_signal):
    """The model as `mlflow models serve` loads it, logged into a private store."""
    with mlflow.start_run():
        info = log_diagnosis_model(bundle, detector_file, excerpt_signal, FS, LEADS)
    return info, mlflow.pyfunc.load_model(info.model_uri)


@pytest.fixture
def client(served):
    from fastapi.testclient import TestClient
    from mlflow.pyfunc import scoring_server

    return TestClient(scoring_server.init(served[1]))


def _no_nan(text: str):
    def refuse(constant):
        raise AssertionError(f"{constant} in the response")

    return json.loads(text, parse_constant=refuse)


def test_signature_declares_the_tensor_and_params():
    signature = diagnosis_signature()
    (spec,) = signature.inputs.inputs
    assert isinstance(spec, TensorSpec) and spec.name == "ecg" and spec.shape == (-1, -1)
    params = {p.name: p for p in signature.params.params}
    assert params["fs"].default is None and params["leads"].shape == (-1,)


def test_logged_model_answers_like_predict(served, bundle, detector_file, excerpt_signal, tmp_path):
    info, model = served
    assert info.signature == diagnosis_signature()
    out = model.predict({"ecg": excerpt_signal}, params={"fs": FS, "leads": LEADS})
    handle = load_model(str(bundle))
    ecg = ecg_from_request(excerpt_signal, FS, LEADS)
    expected = diagnosis_json(
        diagnose_signal(ecg, handle, QrsDetector.load(detector_file))[1], "x", "y"
    )
    assert [b["sample"] for b in out["beats"]] == [b["sample"] for b in expected["beats"]]
    assert [b["label"] for b in out["beats"]] == [b["label"] for b in expected["beats"]]
    assert out["summary"] == expected["summary"]
    assert out["leads"] == LEADS and out["fs"] == FS
    assert {b["label"] for b in out["beats"]} <= set(AAMI_CLASSES)
    # the logged example is a request in the served format, with its params
    local = mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path))
    example = json.loads((Path(local) / "serving_input_example.json").read_text())
    assert example["params"] == {"fs": FS, "leads": LEADS}
    assert np.asarray(example["inputs"]["ecg"]).shape == (int(12 * FS), 2)


def test_served_request_and_response(client, excerpt_signal):
    body = {"inputs": {"ecg": excerpt_signal.tolist()}, "params": {"fs": FS, "leads": LEADS}}
    response = client.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    out = _no_nan(response.text)["predictions"]
    assert out["summary"]["n_beats"] == len(out["beats"]) >= 25  # 30 s of sinus rhythm
    assert set(out["beats"][0]) == {"sample", "time_s", "label", "p"}
    assert "episodes" in out and out["duration_s"] == pytest.approx(30.0)


def test_a_dead_mlii_gets_the_same_json_from_predict_and_from_the_server(
    client, model_args, excerpt_signal, tmp_path
):
    """MLII disconnected from start to end beside a good V5, as a WFDB file to `arrhythmia
    predict` and as a request to the served model: both read V5 first and answer the same
    JSON, but for the names of the record, model and detector."""
    signal = excerpt_signal.astype(np.float64)
    signal[:, 0] = 0.0
    wfdb.wrsamp("dead", fs=FS, units=["mV", "mV"], sig_name=LEADS, p_signal=signal,
                fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0],
                write_dir=str(tmp_path))  # fmt: skip
    out = tmp_path / "out"
    assert main(["predict", str(tmp_path / "dead"), "--out", str(out), *model_args]) == 0
    predicted = json.loads((out / "dead.json").read_text())
    as_read = wfdb.rdrecord(str(tmp_path / "dead")).p_signal.astype(np.float32)
    body = {"inputs": {"ecg": as_read.tolist()}, "params": {"fs": FS, "leads": LEADS}}
    response = client.post("/invocations", json=body)
    assert response.status_code == 200, response.text[:300]
    served = response.json()["predictions"]
    assert predicted["leads"] == served["leads"] == ["V5", "MLII"]
    assert predicted["duration_s"] == pytest.approx(30.0)
    names = ("record", "model", "detector")
    assert [predicted.pop(k) for k in names] != [served.pop(k) for k in names]
    assert served == predicted


def test_bad_requests_get_400_with_the_reason(client, excerpt_signal):
    for name, (body, says) in bad_requests(excerpt_signal, FS).items():
        text = json.dumps(body).replace("NaN", "null")
        response = client.post("/invocations", content=text,
                               headers={"Content-Type": "application/json"})  # fmt: skip
        assert response.status_code == 400, (name, response.status_code, response.text[:300])
        assert says in response.json()["message"], (name, response.json()["message"][-300:])
    # and the app still answers a good request
    body = {"inputs": {"ecg": excerpt_signal.tolist()}, "params": {"fs": FS}}
    assert client.post("/invocations", json=body).status_code == 200


def test_too_long_is_refused_before_any_work(served):
    _, model = served
    day_and_more = np.zeros((int(24 * 3600 * 50) + 50, 1), dtype=np.float32)
    with pytest.raises(MlflowException, match="at most 24 h"):
        model.predict({"ecg": day_and_more}, params={"fs": 50.0})


def test_a_gap_inside_a_good_signal_is_noise_not_an_error(client, excerpt_signal):
    signal = excerpt_signal.copy()
    signal[int(10 * FS) : int(20 * FS)] = np.nan
    text = json.dumps({"inputs": {"ecg": signal.tolist()}, "params": {"fs": FS}})
    response = client.post("/invocations", content=text.replace("NaN", "null"),
                           headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 200, response.text[:300]
    out = _no_nan(response.text)["predictions"]
    noise = [(e["start_s"], e["end_s"]) for e in out["episodes"] if e["type"] == "NOISE"]
    assert any(a <= 12 and b >= 18 for a, b in noise), noise
    assert not any(12 < b["time_s"] < 18 for b in out["beats"])
    assert out["summary"]["unreadable_s"] >= 8


def test_a_failure_inside_the_diagnosis_is_a_500_not_the_clients_fault(
    served, client, excerpt_signal, monkeypatch
):
    broken = object()
    monkeypatch.setattr(served[1].unwrap_python_model(), "detector", broken)  # not a detector
    body = {"inputs": {"ecg": excerpt_signal.tolist()}, "params": {"fs": FS}}
    response = client.post("/invocations", json=body)
    assert response.status_code == 500
    assert "failed on a valid request" in response.json()["message"]


def test_the_server_process_warms_the_model_up_and_hides_its_objects_from_the_collector(
    served, caplog, monkeypatch
):
    """Loaded by `mlflow models serve` (its app module importing), the model does at load
    what a first request would, without failing, and freezes the objects made so far out
    of the garbage collector's full collections; loaded by anyone else, it freezes nothing
    (that would outlive the caller's use of it). Its networks are traced at load either way."""
    import gc
    import logging
    import sys
    import types

    from arrhythmia.inference.diagnosis_pyfunc import SERVER_APP

    info, _ = served
    try:
        gc.unfreeze()
        model = mlflow.pyfunc.load_model(info.model_uri).unwrap_python_model()
        assert gc.get_freeze_count() == 0
        assert len(model.classifier._traced) == len(model.classifier.state_dicts) > 0

        monkeypatch.setitem(sys.modules, SERVER_APP, types.ModuleType(SERVER_APP))
        with caplog.at_level(logging.WARNING, logger="arrhythmia.inference.diagnosis_pyfunc"):
            mlflow.pyfunc.load_model(info.model_uri)
        assert "warming the model up failed" not in caplog.text
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
