"""train -> evaluate -> register -> serve, unchanged, against a shared MLflow tracking server
(`MLFLOW_TRACKING_URI=http://...`) whose backend store is PostgreSQL and whose artifacts go
through the server's artifact proxy; the session's pipeline outputs give the dataset and
the QRS detector."""

import copy
import json
import shutil
import uuid
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shared(pipeline_outputs, mlflow_server, prefect_harness, tmp_path_factory):
    """A copy of the session's project (dataset and detector read from it, nothing of it
    rewritten) whose train, evaluate and register stages track to the server (train also
    fits the strip AF call on the CinC strips and the VT/VF trees on the DS1, VFDB and CUDB
    records it links to)."""
    import mlflow

    from flows.evaluate import evaluate_flow
    from flows.register import register_flow
    from flows.train import train_flow

    built, params, _ = pipeline_outputs
    project = tmp_path_factory.mktemp("shared-project")
    links = ("data/processed/beats.npz", "data/raw/mitdb", "data/raw/cinc2017",
             "data/raw/vfdb", "data/raw/cudb")  # fmt: skip
    for link in links:
        (project / link).parent.mkdir(parents=True, exist_ok=True)
        (project / link).symlink_to(built / link)
    (project / "models").mkdir()
    shutil.copy(built / "models" / "qrs_detector.npz", project / "models")
    params = copy.deepcopy(params)
    # A narrower CNN: this test is about where runs, models and artifacts go, and the CNN's
    # passes over DS1 and DS2 are most of the stages' time.
    params["train"].update(widths=[4, 8], rr_hidden=8, hidden=16)
    # A name of its own: a server that outlives one test session may hold earlier versions.
    params["register"]["model_name"] = f"arrhythmia-cnn-{uuid.uuid4().hex[:8]}"
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    previous_uri = mlflow.get_tracking_uri()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)
        mp.setenv("MLFLOW_TRACKING_URI", mlflow_server.tracking_uri)
        try:
            results = {
                "train": train_flow(),
                "evaluate": evaluate_flow(),
                "register": register_flow(),
                "register_again": register_flow(),
            }
        finally:  # the flows set MLflow's global URI: later tests get theirs back
            mlflow.set_tracking_uri(previous_uri)
    yield project, params["register"]["model_name"], results


def _run_id(project: Path) -> str:
    return json.loads((project / "models" / "mlflow_run.json").read_text())["run_id"]


def test_the_run_its_metrics_and_artifacts_are_on_the_server(shared, mlflow_server):
    from mlflow import MlflowClient

    from arrhythmia.tracking.mlflow_setup import EXPERIMENT_KIND

    project, _, results = shared
    client = MlflowClient(mlflow_server.tracking_uri)
    run = client.get_run(_run_id(project))
    assert run.info.status == "FINISHED" and run.data.params["train.folds"] == "2"
    assert run.data.metrics["dev_val_score"] == pytest.approx(results["train"]["dev_val_score"])
    assert {"ds2_veb_se", "ds2_e2e_qrs_se", "gate_candidate_score"} <= set(run.data.metrics)
    assert run.inputs.dataset_inputs[0].dataset.digest == run.data.tags["dataset_dvc_md5"]
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags[EXPERIMENT_KIND[0]] == EXPERIMENT_KIND[1]

    # Artifacts went through the server's proxy, and come back from it byte for byte.
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    listed = {a.path for folder in ("train", "evaluate")
              for a in client.list_artifacts(run.info.run_id, folder)}  # fmt: skip
    assert {"train/folds.json", "evaluate/ds2.json", "evaluate/holter.html"} <= listed
    fetched = client.download_artifacts(run.info.run_id, "train/folds.json", str(project))
    assert Path(fetched).read_bytes() == (project / "reports/train/folds.json").read_bytes()
    logged = json.loads((project / "models" / "mlflow_run.json").read_text())
    model = client.get_logged_model(logged["model_uri"].removeprefix("models:/"))
    assert model.source_run_id == run.info.run_id
    assert model.artifact_location.startswith("mlflow-artifacts:/")
    # Nothing fell back to a local store.
    assert not (project / "mlflow.db").exists() and not (project / "mlruns").exists()


def test_the_registered_version_holds_the_champion_alias(shared, mlflow_server):
    from mlflow import MlflowClient

    project, name, results = shared
    client = MlflowClient(mlflow_server.tracking_uri)
    run_id = _run_id(project)
    decision = results["register"]
    assert decision["promoted"] and decision["version"] == "1"
    champion = client.get_model_version_by_alias(name, "champion")
    assert champion.version == "1" and champion.run_id == run_id
    assert champion.tags["gate_completed"] == "true" and "Gate:" in champion.description
    beats = client.get_model_version_by_alias(f"{name}-beats", "champion")
    assert beats.run_id == run_id
    again = results["register_again"]
    assert again["already_registered"] and again["version"] == "1"
    assert len(client.search_model_versions(f"name='{name}'")) == 1


def test_the_backend_store_is_postgresql(shared, mlflow_server):
    import psycopg2

    project, name, _ = shared
    with psycopg2.connect(mlflow_server.database_dsn) as db, db.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert cursor.fetchone()[0].startswith("PostgreSQL")
        cursor.execute("SELECT status FROM runs WHERE run_uuid = %s", (_run_id(project),))
        assert cursor.fetchall() == [("FINISHED",)]
        cursor.execute(
            "SELECT version FROM registered_model_aliases WHERE name = %s AND alias = %s",
            (name, "champion"),
        )
        assert cursor.fetchall() == [(1,)]
    db.close()


def test_the_database_refuses_a_connection_without_its_password(mlflow_server):
    """The throw-away PostgreSQL wants the generated password, not trust, from local users."""
    import psycopg2
    from psycopg2.extensions import make_dsn, parse_dsn

    without = {k: v for k, v in parse_dsn(mlflow_server.database_dsn).items() if k != "password"}
    with pytest.raises(psycopg2.OperationalError, match="password"):
        psycopg2.connect(make_dsn(**without))
    wrong = make_dsn(**without, password="not-the-password")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(wrong)


def test_the_champion_is_served_from_the_registry(shared, mlflow_server):
    from tools.serving import model_server, post

    _, name, _ = shared
    body = json.loads((ROOT / "examples" / "request_208_60s.json").read_text())
    with model_server(f"models:/{name}@champion", mlflow_server.tracking_uri) as url:
        answer = post(f"{url}/invocations", body)
    assert answer.status == 200, answer.body
    beats = answer.body["predictions"]["beats"]
    # 60 s of record 208: about 100 beats, whatever labels an undertrained CNN gives them
    assert len(beats) > 50 and {b["label"] for b in beats} <= set("NSVFQ")
