"""Champion gate: registering run models and moving the `champion` alias."""

from __future__ import annotations

import hashlib
import math

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from arrhythmia.inference.pyfunc import log_beat_classifier
from arrhythmia.models.bundle import BeatClassifier
from arrhythmia.signal.rr import RR_FEATURES
from arrhythmia.tracking.mlflow_setup import file_md5, flatten_params
from arrhythmia.tracking.registry import (
    BEATS_SUFFIX,
    CHAMPION_ALIAS,
    MODEL_NAME,
    GateDecision,
    register_and_gate,
    should_promote,
)

NAN = float("nan")


@pytest.mark.parametrize(
    ("candidate", "champion", "greater", "expected"),
    [
        (0.5, None, True, True),  # no champion
        (0.5, None, False, True),
        (0.9, 0.8, True, True),
        (0.7, 0.8, True, False),
        (0.8, 0.8, True, False),  # tie keeps the champion
        (0.7, 0.8, False, True),  # lower is better
        (0.9, 0.8, False, False),
        (0.8, 0.8, False, False),
        (NAN, None, True, False),  # NaN never wins
        (NAN, 0.1, True, False),
        (NAN, 0.1, False, False),
        (0.5, NAN, True, True),  # champion without a usable score
    ],
)
def test_should_promote_truth_table(candidate, champion, greater, expected):
    assert should_promote(candidate, champion, greater) is expected


def _candidate_run(classifier_path, beats, metrics: dict[str, float]) -> str:
    with mlflow.start_run() as run:
        mlflow.log_metrics(metrics)
        log_beat_classifier(classifier_path, beats.as_input())
    return run.info.run_id


def _alias_version(client: MlflowClient) -> str:
    return str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION_ALIAS).version)


def test_gate_promotes_first_then_better_and_keeps_champion_on_worse(
    tracking, classifier_path, beats
):
    client = MlflowClient()

    first = register_and_gate(_candidate_run(classifier_path, beats, {"f1": 0.70}), "f1")
    assert isinstance(first, GateDecision)
    assert first.promoted and first.version == "1"
    assert first.champion_version is None and first.champion_score is None
    assert _alias_version(client) == "1"

    better = register_and_gate(_candidate_run(classifier_path, beats, {"f1": 0.80}), "f1")
    assert better.promoted and better.version == "2"
    assert better.champion_version == "1" and better.champion_score == pytest.approx(0.70)
    assert _alias_version(client) == "2"

    worse_run = _candidate_run(classifier_path, beats, {"f1": 0.75})
    worse = register_and_gate(worse_run, "f1")
    assert not worse.promoted and worse.version == "3"
    assert worse.champion_version == "2"
    assert _alias_version(client) == "2"  # alias unchanged
    assert "does not beat" in worse.reason

    run = client.get_run(worse_run)
    assert run.data.metrics["gate_candidate_score"] == pytest.approx(0.75)
    assert run.data.metrics["gate_champion_score"] == pytest.approx(0.80)
    assert run.data.tags["promoted"] == "false"
    version_tags = client.get_model_version(MODEL_NAME, "3").tags
    assert version_tags["promoted"] == "false"
    assert version_tags["gate_metric"] == "f1"
    assert float(version_tags["candidate_score"]) == pytest.approx(0.75)
    assert float(version_tags["champion_score"]) == pytest.approx(0.80)
    promoted_run = client.get_run(client.get_model_version(MODEL_NAME, "2").run_id)
    assert promoted_run.data.tags["promoted"] == "true"

    d = worse.to_dict()
    assert d["version"] == "3" and d["promoted"] is False and d["gate_metric"] == "f1"


def test_gate_lower_is_better(tracking, classifier_path, beats):
    register_and_gate(_candidate_run(classifier_path, beats, {"loss": 0.5}), "loss", False)
    decision = register_and_gate(
        _candidate_run(classifier_path, beats, {"loss": 0.4}), "loss", greater_is_better=False
    )
    assert decision.promoted
    assert _alias_version(MlflowClient()) == decision.version


def test_missing_gate_metric_is_a_clear_error(tracking, classifier_path, beats):
    run_id = _candidate_run(classifier_path, beats, {"accuracy": 0.9})
    with pytest.raises(ValueError, match=r"no metric 'macro_f1'.*accuracy"):
        register_and_gate(run_id, "macro_f1")
    # nothing was registered
    assert MlflowClient().search_model_versions(f"name='{MODEL_NAME}'") == []


def test_activate_tracking_honours_env(tracking, tmp_path):
    assert tracking == f"sqlite:///{tmp_path}/mlflow.db"
    assert mlflow.get_tracking_uri() == tracking
    experiment = mlflow.get_experiment_by_name("test")
    assert experiment.artifact_location == (tmp_path / "artifacts").as_uri()


def test_ensure_experiment_touches_only_the_store_it_is_given(tmp_path, empty_store):
    import shutil

    from arrhythmia.tracking.mlflow_setup import EXPERIMENT_KIND, ensure_experiment

    shutil.copyfile(empty_store, tmp_path / "other.db")
    uri = f"sqlite:///{tmp_path}/other.db"
    before = mlflow.get_tracking_uri()
    experiment_id = ensure_experiment("elsewhere", uri=uri)
    assert ensure_experiment("elsewhere", uri=uri) == experiment_id  # found, not made again
    tags = MlflowClient(uri).get_experiment(experiment_id).tags
    assert tags[EXPERIMENT_KIND[0]] == EXPERIMENT_KIND[1]
    assert mlflow.get_tracking_uri() == before


def test_flatten_params():
    flat = flatten_params(
        {"train": {"lr": 1e-3, "epochs": 3, "widths": [16, 32], "opt": {"name": "adam"}},
         "seed": 0, "split": ("a", "b"), "none": None, "on": True}
    )  # fmt: skip
    assert flat == {
        "train.lr": 1e-3,
        "train.epochs": 3,
        "train.widths": "[16, 32]",
        "train.opt.name": "adam",
        "seed": 0,
        "split": '["a", "b"]',
        "none": "None",
        "on": True,
    }
    assert flatten_params({"a": {"b": 1}}, prefix="p") == {"p.a.b": 1}


def test_file_md5_is_the_hash_dvc_records(tmp_path):
    from dvc_data.hashfile.hash import file_md5 as dvc_file_md5

    data = tmp_path / "beats.npz"
    data.write_bytes(bytes(range(256)) * 5000 + b"\r\n tail")
    assert file_md5(data) == dvc_file_md5(str(data))
    assert file_md5(data) == hashlib.md5(data.read_bytes()).hexdigest()


def test_nan_candidate_is_registered_but_not_promoted(tracking, classifier_path, beats):
    decision = register_and_gate(_candidate_run(classifier_path, beats, {"f1": NAN}), "f1")
    assert not decision.promoted and math.isnan(decision.candidate_score)
    assert MlflowClient().get_registered_model(MODEL_NAME).aliases == {}
    # the registered model exists but has no champion alias yet: the next one takes it
    after = register_and_gate(_candidate_run(classifier_path, beats, {"f1": 0.1}), "f1")
    assert after.promoted and after.version == "2" and after.champion_version is None


def test_registering_the_logged_model_uri_keeps_the_run_link(tracking, classifier_path, beats):
    with mlflow.start_run() as run:
        mlflow.log_metric("f1", 0.7)
        info = log_beat_classifier(classifier_path, beats.as_input())
    decision = register_and_gate(run.info.run_id, "f1", model_uri=info.model_uri)
    version = MlflowClient().get_model_version(MODEL_NAME, decision.version)
    assert decision.promoted and version.run_id == run.info.run_id
    assert version.source == info.model_uri
    loaded = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@{CHAMPION_ALIAS}")
    assert len(loaded.predict(beats.as_input())) == len(beats.as_input()["rr"])


def test_loading_a_registered_model_leaves_mlflows_global_uris_alone(
    tracking, bundle, beats, tmp_path, monkeypatch
):
    """`--model models:/...@champion` reads the store MLFLOW_TRACKING_URI names, whatever
    MLflow's process-wide URI is, and leaves that URI as it was."""
    from arrhythmia.inference.model_handle import load_model

    with mlflow.start_run() as run:
        mlflow.log_metric("f1", 0.7)
        info = log_beat_classifier(bundle, beats.as_input())
    register_and_gate(run.info.run_id, "f1", model_uri=info.model_uri)
    elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    mlflow.set_tracking_uri(elsewhere)  # the `tracking` fixture of the next test resets it
    # set_tracking_uri also exports MLFLOW_TRACKING_URI; the store the model is in comes back
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking)
    expected = BeatClassifier.load(bundle).predict_proba(
        beats.windows, beats.rr, RR_FEATURES, np.zeros(len(beats.rr), dtype=np.int64)
    )
    for uri in (f"models:/{MODEL_NAME}@{CHAMPION_ALIAS}", f"models:/{MODEL_NAME}/1",
                f"runs:/{run.info.run_id}/model", info.model_uri):  # fmt: skip
        handle = load_model(uri)
        np.testing.assert_allclose(handle.predict(beats.windows, beats.rr), expected, rtol=1e-6)
        assert handle.description == uri
    assert mlflow.get_tracking_uri() == elsewhere
    assert not (tmp_path / "elsewhere.db").exists()  # nothing asked the global store


def test_registering_the_same_run_twice_does_nothing(tracking, classifier_path, beats):
    client = MlflowClient()
    run_id = _candidate_run(classifier_path, beats, {"f1": 0.7})
    first = register_and_gate(run_id, "f1")
    better = register_and_gate(_candidate_run(classifier_path, beats, {"f1": 0.9}), "f1")
    assert better.promoted and _alias_version(client) == "2"

    again = register_and_gate(run_id, "f1")  # e.g. `dvc repro --force register`
    assert again.already_registered and again.version == first.version == "1"
    assert not again.promoted and "nothing registered" in again.reason
    assert len(client.search_model_versions(f"name='{MODEL_NAME}'")) == 2
    assert _alias_version(client) == "2"  # the alias did not move


def test_each_version_describes_what_changed_and_carries_the_headline_figures(
    tracking, classifier_path, beats
):
    client = MlflowClient()
    with mlflow.start_run() as run:
        mlflow.log_params({"train.seed": 1, "train.folds": 3})
        mlflow.log_metrics({"dev_val_score": 0.70, "ds2_sveb_se": 0.2, "ds2_veb_se": 0.9})
        mlflow.set_tag("git_commit", "abc123")
        log_beat_classifier(classifier_path, beats.as_input())
    first = register_and_gate(run.info.run_id, "dev_val_score")
    with mlflow.start_run() as run:
        mlflow.log_params({"train.seed": 2, "train.folds": 3})
        mlflow.log_metrics({"dev_val_score": 0.60, "ds2_sveb_se": 0.4, "ds2_veb_se": 0.8})
        log_beat_classifier(classifier_path, beats.as_input())
    second = register_and_gate(run.info.run_id, "dev_val_score")

    v1 = client.get_model_version(MODEL_NAME, first.version)
    assert "abc123" in v1.description and "no champion" in v1.description.lower()
    assert v1.tags["dev_val_score"] == "0.7000" and v1.tags["ds2_sveb_se"] == "0.2000"
    v2 = client.get_model_version(MODEL_NAME, second.version)
    assert "train.seed: 1 -> 2" in v2.description and "train.folds" not in v2.description
    assert "does not beat" in v2.description
    assert v2.tags["ds2_veb_se"] == "0.8000" and v2.tags["promoted"] == "false"


def test_experiment_opens_in_the_runs_view(tracking):
    experiment = mlflow.get_experiment_by_name("test")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_a_run_missing_from_the_store_is_a_clear_error(tracking, tmp_path):
    from arrhythmia.tracking.mlflow_setup import MissingRunError, require_run

    with pytest.raises(MissingRunError, match=r"models/mlflow_run.json names MLflow run 0f0f.*"):
        require_run("0f0f" * 8, "models/mlflow_run.json")


def test_a_register_that_stopped_half_way_is_completed_by_the_next(
    tracking, classifier_path, beats, monkeypatch
):
    client = MlflowClient()
    run_id = _candidate_run(classifier_path, beats, {"f1": 0.7})

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    with monkeypatch.context() as patched, pytest.raises(RuntimeError):
        patched.setattr(MlflowClient, "update_model_version", crash)
        register_and_gate(run_id, "f1")  # version 1 exists, but no description, no alias
    assert len(client.search_model_versions(f"name='{MODEL_NAME}'")) == 1

    decision = register_and_gate(run_id, "f1")
    assert decision.version == "1" and decision.promoted and not decision.already_registered
    assert _alias_version(client) == "1"
    assert client.get_model_version(MODEL_NAME, "1").description
    assert register_and_gate(run_id, "f1").already_registered


def test_the_beat_level_companion_follows_the_champion_alias(tracking, classifier_path, beats):
    client = MlflowClient()
    companion = MODEL_NAME + BEATS_SUFFIX

    def run_with(score: float) -> tuple[str, dict[str, str]]:
        with mlflow.start_run() as run:
            mlflow.log_metric("f1", score)
            main = log_beat_classifier(classifier_path, beats.as_input())
            beat = log_beat_classifier(classifier_path, beats.as_input(), name="beat_model")
        return run.info.run_id, {"main": main.model_uri, companion: beat.model_uri}

    def champion_of(name: str) -> str:
        return str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version)

    run_id, uris = run_with(0.7)
    first = register_and_gate(run_id, "f1", model_uri=uris.pop("main"), companions=uris)
    assert first.promoted and champion_of(companion) == first.companions[companion]
    version = client.get_model_version(companion, first.companions[companion])
    assert version.run_id == run_id and version.source == uris[companion]

    run_id, uris = run_with(0.5)  # worse: neither alias moves, both versions exist
    worse = register_and_gate(run_id, "f1", model_uri=uris.pop("main"), companions=uris)
    assert not worse.promoted
    assert champion_of(companion) == first.companions[companion] != worse.companions[companion]
    assert champion_of(MODEL_NAME) == first.version
    version = client.get_model_version(companion, worse.companions[companion])
    assert version.tags["follows"] == f"{MODEL_NAME} version {worse.version}"

    again = register_and_gate(run_id, "f1", model_uri="unused", companions=uris)
    assert again.already_registered and again.companions == worse.companions
    assert len(client.search_model_versions(f"name='{companion}'")) == 2


def test_a_champion_that_takes_other_inputs_is_replaced_on_a_tie(
    tracking, classifier_path, beats, bundle, detector_file, excerpt_dir
):
    """Moving the registry from beat-level to raw-ECG models: the same score, but clients
    of `@champion` now send raw ECG, so the old champion must not stay."""
    import wfdb

    from arrhythmia.inference.diagnosis_pyfunc import log_diagnosis_model

    first = register_and_gate(_candidate_run(classifier_path, beats, {"f1": 0.7}), "f1")
    signal = wfdb.rdrecord(str(excerpt_dir / "100")).p_signal
    with mlflow.start_run() as run:
        mlflow.log_metric("f1", 0.7)
        info = log_diagnosis_model(bundle, detector_file, signal, 360.0, ("MLII", "V5"))
    second = register_and_gate(run.info.run_id, "f1", model_uri=info.model_uri)
    assert second.promoted and "takes other inputs" in second.reason
    assert _alias_version(MlflowClient()) == second.version != first.version
    third = register_and_gate(_candidate_run(classifier_path, beats, {"f1": float("nan")}), "f1")
    assert not third.promoted  # a NaN score never wins, whatever its inputs


def test_a_version_description_fits_postgresqls_5000_characters():
    """PostgreSQL refuses longer descriptions (sqlite does not): long param changes are cut
    to what fits, never the head or the gate decision."""
    from types import SimpleNamespace

    from arrhythmia.tracking.registry import MAX_DESCRIPTION_CHARS, version_description

    long = {f"p{i}": "x" * 900 for i in range(12)}
    run = SimpleNamespace(
        info=SimpleNamespace(run_id="r1"),
        data=SimpleNamespace(params=long, metrics={}, tags={"git_commit": "abc"}),
    )
    text = version_description(run, "3", {}, "the reason")
    assert len(text) <= MAX_DESCRIPTION_CHARS
    assert text.startswith("Run r1 (git abc") and text.endswith("Gate: the reason.")
    assert "more)" in text
    huge = {"p": "y" * 6000}
    run.data.params = huge
    assert "1 params (too long to list here)" in version_description(run, "3", {}, "r")
