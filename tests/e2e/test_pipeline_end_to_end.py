"""Every stage on a smoke run's few records of each database, training shrunk (2 folds,
1 epoch) from the real params.yaml; then the registered model is used the way a user would
use it."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from arrhythmia.data.aami import SYMBOL_TO_AAMI
from tests.helpers import STRIPS, assert_no_nan_in_html

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_data_stages(pipeline):
    """A smoke run's few records of each database go through ingest, validation and
    preprocessing, and only they (the protocol's whole lists: tests/test_pipeline_outputs.py)."""
    root, params, results = pipeline
    subset = params["data"]["subset"]
    mitdb = sorted(subset["ds1"] + subset["ds2"])
    sizes = [3 * len(mitdb), 3 * len(subset["svdb"]), 2 * len(subset["cinc2017"])]
    sizes += [3 * len(subset["vfdb"]), 3 * len(subset["cudb"])]
    databases = ("mitdb", "svdb", "cinc2017", "vfdb", "cudb")  # in ingest's order
    folders = [root / "data" / "raw" / name for name in databases]
    assert [len(list(folder.iterdir())) for folder in folders] == sizes
    assert sorted(p.stem for p in folders[0].glob("*.hea")) == mitdb
    assert [len(report.fetched) for report in results["ingest"]] == sizes
    assert [(r.fetched, len(r.already_present)) for r in results["ingest_again"]] == [
        ((), size) for size in sizes
    ]
    assert results["validate_raw"].success and results["validate_dataset"].success
    # Re-validating unchanged records leaves the record later stages depend on byte-identical.
    assert results["validate_raw_again"].success
    assert (root / "data" / "validated" / "raw.json").read_bytes() == results["raw_receipt"]
    receipt = json.loads(results["raw_receipt"])
    assert receipt["passed"] and len(receipt["inputs_sha256"]) == sum(sizes)
    assert {"mitdb/100.dat", "svdb/822.dat", "cinc2017/A00003.mat", "vfdb/611.atr",
            "cudb/cu01.hea"} <= set(receipt["inputs_sha256"])  # fmt: skip
    assert receipt["tables"]["cinc2017_strips"] == len(subset["cinc2017"])
    assert (receipt["tables"]["vfdb_records"], receipt["tables"]["cudb_records"]) == (1, 1)
    assert json.loads((root / "data" / "validated" / "dataset.json").read_text())["passed"]
    # Every beat of the chosen records, as their .atr files count them (tests.helpers).
    assert results["preprocess"] == params["validate_dataset"]["expected_counts"]
    assert json.loads((root / "metrics" / "class_counts.json").read_text()) == results["preprocess"]


def test_training_evaluation_and_registry(pipeline):
    import mlflow

    from arrhythmia.inference.model_handle import load_model
    from arrhythmia.models.bundle import BeatClassifier

    root, _, results = pipeline
    train = results["train"]
    assert 0 < train["dev_val_score"] <= 1 and train["n_models"] == 4
    # the strip AF call, fitted on the first STRIPS CinC strips, travels in the bundle
    assert train["strip_af_strips"] == STRIPS and 0 <= train["strip_af_f1_cv"] <= 1
    bundle = BeatClassifier.load(root / "models" / "cnn.pt")
    assert bundle.strip_af_model() is not None
    # the VT/VF trees learnt from the run's DS1 records, 611's VT and cu01's VF
    assert bundle.ventricular_model() is not None and train["vtvf_present_windows"] > 0
    assert train["vtvf_records"] == 4 + 1 + 1
    assert 0 <= train["vtvf_cv_vfdb_vt_duration_se"] <= 1
    assert (root / "reports" / "train" / "training_curves.png").stat().st_size > 0

    ds2 = json.loads((root / "metrics" / "ds2.json").read_text())
    ds2_counts = results["preprocess"]["DS2"]
    assert ds2["n_beats"] == sum(ds2_counts.values())  # every beat of the run's DS2 records
    for key in ("veb_se", "veb_pp", "sveb_se", "sveb_pp", "accuracy", "macro_f1"):
        assert key in ds2
    for name in ("confusion_matrix.png", "precision_recall.png", "per_record.csv", "confusion.csv"):
        assert (root / "reports" / "evaluate" / name).stat().st_size > 0

    run_id = json.loads((root / "models" / "mlflow_run.json").read_text())["run_id"]
    run = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}").get_run(run_id)
    assert run.data.params["train.folds"] == "2"
    assert {"dev_val_score", "ds2_sveb_se", "ds2_veb_pp", "fold0_val_score"} <= set(
        run.data.metrics
    )
    assert run.data.tags["dataset_dvc_md5"]

    assert run.data.tags["dataset_dvc_md5"] == run.inputs.dataset_inputs[0].dataset.digest
    assert run.inputs.dataset_inputs[0].dataset.name == "development-beats"
    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"

    decision = results["register"]
    assert decision["promoted"] and decision["version"] == "1"
    version = client.get_model_version("arrhythmia-cnn", "1")
    assert run_id in version.description and "Gate:" in version.description
    assert float(version.tags["dev_val_score"]) == pytest.approx(train["dev_val_score"], abs=1e-4)
    assert float(version.tags["ds2_veb_se"]) == pytest.approx(ds2["veb_se"], abs=1e-4)
    again = results["register_again"]
    assert again["already_registered"] and again["version"] == "1"
    assert len(client.search_model_versions("name='arrhythmia-cnn'")) == 1
    # the beat-level model of the same run, registered beside it, with the alias
    beats = client.get_model_version_by_alias("arrhythmia-cnn-beats", "champion")
    assert beats.run_id == run_id and decision["companions"] == {"arrhythmia-cnn-beats": "1"}
    assert again["companions"] == decision["companions"]
    assert len(client.search_model_versions("name='arrhythmia-cnn-beats'")) == 1
    served = client.get_model_version_by_alias("arrhythmia-cnn", "champion")
    signature = mlflow.models.get_model_info(f"models:/arrhythmia-cnn/{served.version}").signature
    assert signature.inputs.input_names() == ["ecg"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        champion = load_model("models:/arrhythmia-cnn@champion")
        assert champion.strip_af is not None and champion.ventricular is not None


def test_evaluate_writes_and_logs_the_holter_report_of_one_ds2_record(pipeline):
    import mlflow

    root, params, _ = pipeline
    page = (root / "reports" / "evaluate" / "holter.html").read_text()
    assert f"record {params['evaluate']['holter_record']}" in page
    assert_no_nan_in_html(page)
    run_id = json.loads((root / "models" / "mlflow_run.json").read_text())["run_id"]
    logged = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}").list_artifacts(
        run_id, "evaluate"
    )
    assert "evaluate/holter.html" in {a.path for a in logged}


def test_predict_with_the_champion_writes_wfdb_annotations(pipeline):
    import wfdb

    from arrhythmia.cli import main

    root, _, _ = pipeline
    out = root / "predictions"
    record = root / "data" / "raw" / "mitdb" / "100"
    uri = "models:/arrhythmia-cnn@champion"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        assert (
            main(["predict", str(record), "--beats-from", "atr", "--out", str(out), "--model", uri])
            == 0
        )
    written = wfdb.rdann(str(out / "100"), "cnn")
    reference = wfdb.rdann(str(record), "atr")
    beats = [s for s, sym in zip(reference.sample, reference.symbol, strict=True)
             if sym in SYMBOL_TO_AAMI]  # fmt: skip
    labelled = [(s, sym) for s, sym in zip(written.sample, written.symbol, strict=True)
                if sym != "+"]  # fmt: skip
    np.testing.assert_array_equal([s for s, _ in labelled], beats)  # one label per reference beat
    assert {sym for _, sym in labelled} <= set("NSVFQ")
    rhythm = [a for sym, a in zip(written.symbol, written.aux_note, strict=True) if sym == "+"]
    assert rhythm and written.sample[0] == 0 and all(a.startswith("(") for a in rhythm)
    summary = json.loads((out / "100.json").read_text())["summary"]
    assert summary["n_beats"] == len(beats) and summary["agreement_with_reference"] > 0.5


def test_end_to_end_figures_on_ds2(pipeline):
    """The whole path on raw DS2 records, scored in the evaluate stage (training shrunk
    here, so only the detection bar and the presence of every figure are checked)."""
    import mlflow

    root, params, results = pipeline
    whole = json.loads((root / "metrics" / "ds2_end_to_end.json").read_text())
    assert whole == json.loads(json.dumps(results["evaluate"]["end_to_end"]))
    n_records = len(params["data"]["subset"]["ds2"])
    assert whole["n_records"] == n_records and whole["qrs_se"] > 0.99 and whole["qrs_pp"] > 0.99
    # Sensitivities have reference beats and episodes behind them; a +P is undefined (None,
    # never NaN) when the shrunk model detects nothing of that kind.
    for key in ("veb_se", "sveb_se", "af_duration_se", "af_episode_se", "vt_episode_se"):
        assert whole[key] is not None and 0 <= whole[key] <= 1, key
    for key in ("veb_pp", "sveb_pp", "af_duration_ppv", "vt_episode_ppv"):
        assert whole[key] is None or 0 <= whole[key] <= 1, key
    detector = json.loads((root / "metrics" / "detector.json").read_text())
    # Cross-fitted over two halves of 4 DS1 records (208 among them), so well below what the
    # full DS1 gives (tests/test_pipeline_outputs.py checks that), yet a working detector.
    figures = ("ds1_cross_fitted_se", "ds1_cross_fitted_pp")
    figures += ("ds1_clean_cross_fitted_se", "ds1_clean_cross_fitted_pp")
    assert all(0.9 < detector[key] <= 1 for key in figures), detector
    run_id = json.loads((root / "models" / "mlflow_run.json").read_text())["run_id"]
    run = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}").get_run(run_id)
    assert {"ds2_e2e_qrs_se", "ds2_e2e_veb_se", "ds2_e2e_af_duration_se"} <= set(run.data.metrics)


def _labels_for(record_dir: Path, model, **kwargs):
    from arrhythmia.inference.predict import predict_record

    kwargs.setdefault("beats_from", "atr")
    return predict_record(record_dir / "119", model, None, **kwargs).labels


def test_labels_do_not_depend_on_gain_or_a_few_samples_of_shift(pipeline, tmp_path):
    import wfdb

    from arrhythmia.inference.model_handle import load_model

    root, _, _ = pipeline
    model = load_model(str(root / "models" / "cnn.pt"))
    raw = root / "data" / "raw" / "mitdb"
    baseline = _labels_for(raw, model)

    # The same record recorded with twice the gain.
    record = wfdb.rdrecord(str(raw / "119"))
    doubled = record.p_signal * 2.0
    wfdb.wrsamp("119", fs=record.fs, units=record.units, sig_name=record.sig_name,
                p_signal=doubled, fmt=["16", "16"], write_dir=str(tmp_path))  # fmt: skip
    shutil.copy(raw / "119.atr", tmp_path / "119.atr")
    assert np.mean(_labels_for(tmp_path, model) == baseline) > 0.99

    # Beat fiducials moved by two samples (5.6 ms), as a different QRS detector would place them.
    ann = wfdb.rdann(str(raw / "119"), "atr")
    wfdb.wrann("119", "sft", ann.sample + 2, symbol=ann.symbol, write_dir=str(tmp_path))
    shutil.copy(raw / "119.hea", tmp_path / "119.hea")
    shutil.copy(raw / "119.dat", tmp_path / "119.dat")
    shifted = _labels_for(tmp_path, model, beats_from="sft")
    assert np.mean(shifted == baseline) > 0.95


def test_predict_resamples_a_record_at_another_rate(pipeline, tmp_path):
    import wfdb

    from arrhythmia.inference.model_handle import load_model
    from arrhythmia.inference.predict import predict_record

    root, _, _ = pipeline
    raw = root / "data" / "raw" / "mitdb"
    model = load_model(str(root / "models" / "cnn.pt"))
    baseline = predict_record(raw / "119", model, None, beats_from="atr")

    record = wfdb.rdrecord(str(raw / "119"), sampto=360 * 600)
    from scipy.signal import resample_poly

    signal_250 = resample_poly(record.p_signal, 25, 36, axis=0)
    wfdb.wrsamp("119", fs=250, units=record.units, sig_name=record.sig_name, p_signal=signal_250,
                fmt=["16", "16"], write_dir=str(tmp_path))  # fmt: skip
    ann = wfdb.rdann(str(raw / "119"), "atr", sampto=360 * 600 - 1)
    samples = np.round(ann.sample * 250 / 360).astype(int)
    wfdb.wrann("119", "atr", samples, symbol=ann.symbol, fs=250, write_dir=str(tmp_path))
    at_250 = predict_record(tmp_path / "119", model, None, beats_from="atr")
    assert at_250.fs == 250
    np.testing.assert_array_equal(at_250.samples, samples[np.isin(ann.symbol, list("NV"))])
    n = len(at_250.labels)
    assert np.mean(at_250.labels == baseline.labels[:n]) > 0.95


def test_the_champion_served_by_mlflow_diagnoses_raw_ecg_and_refuses_bad_requests(pipeline):
    """The README's serve command and curl body: `mlflow models serve` on the registered
    model as a subprocess, the committed 60-s request of record 208, then every bad request
    (a 400 that says why), then the server still answers."""
    import wfdb

    from arrhythmia.detection.model import QrsDetector
    from arrhythmia.inference.model_handle import load_model
    from arrhythmia.inference.outputs import diagnosis_json
    from arrhythmia.inference.predict import diagnose_signal
    from arrhythmia.inference.request import ecg_from_request
    from tests.helpers import bad_requests
    from tools.serving import model_server, post

    root, _, _ = pipeline
    body = json.loads((ROOT / "examples" / "request_208_60s.json").read_text())
    signal = np.asarray(body["inputs"]["ecg"], dtype=np.float32)
    fs = body["params"]["fs"]
    with model_server("models:/arrhythmia-cnn@champion", f"sqlite:///{root / 'mlflow.db'}") as url:
        answer = post(f"{url}/invocations", body)
        assert answer.status == 200, answer.body
        served = answer.body["predictions"]
        refused = {name: post(f"{url}/invocations", bad)
                   for name, (bad, _) in bad_requests(signal, fs).items()}  # fmt: skip
        again = post(f"{url}/invocations", body)

    # the served diagnosis is the library's, beat for beat and episode for episode
    ecg = ecg_from_request(signal, fs, body["params"]["leads"])
    model = load_model(str(root / "models" / "cnn.pt"))
    detector = QrsDetector.load(root / "models" / "qrs_detector.npz")
    expected = diagnosis_json(diagnose_signal(ecg, model, detector)[1], "x", "y")
    assert [(b["sample"], b["label"]) for b in served["beats"]] == [
        (b["sample"], b["label"]) for b in expected["beats"]
    ]
    assert served["episodes"] == expected["episodes"] and served["episodes"]
    assert served["summary"] == expected["summary"]
    # and its beats are record 208's: nearly every reference beat found within 150 ms
    reference = wfdb.rdann(str(root / "data" / "raw" / "mitdb" / "208"), "atr",
                           sampto=len(signal))  # fmt: skip
    truth = [s for s, sym in zip(reference.sample, reference.symbol, strict=True)
             if sym in SYMBOL_TO_AAMI]  # fmt: skip
    found = np.array([b["sample"] for b in served["beats"]])
    hits = sum(np.min(np.abs(found - s)) <= 0.15 * fs for s in truth)
    assert hits / len(truth) > 0.97 and len(found) <= len(truth) * 1.03
    labels = {b["label"] for b in served["beats"]}
    assert labels <= set("NSVFQ") and "N" in labels

    for name, (_, says) in bad_requests(signal, fs).items():
        assert refused[name].status == 400, (name, refused[name].body)
        assert says in refused[name].body["message"], (name, refused[name].body["message"])
    assert again.status == 200 and again.body["predictions"] == served


def test_predict_with_the_registered_model_uses_the_detector_it_carries(pipeline, tmp_path):
    from arrhythmia.cli import main

    root, _, _ = pipeline
    record = str(root / "data" / "raw" / "mitdb" / "119")
    local = ["--model", str(root / "models" / "cnn.pt"),
             "--detector", str(root / "models" / "qrs_detector.npz")]  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        registered = ["--model", "models:/arrhythmia-cnn@champion"]
        assert main(["predict", record, "--out", str(tmp_path / "a"), *registered]) == 0
    assert main(["predict", record, "--out", str(tmp_path / "b"), *local]) == 0
    a, b = (json.loads((tmp_path / d / "119.json").read_text()) for d in ("a", "b"))
    assert a["detector"].endswith("(its own)")
    assert a["beats"] == b["beats"] and a["episodes"] == b["episodes"]
