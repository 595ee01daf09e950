"""End-to-end fixtures: the whole pipeline run once per session on a few records of each
database (training shrunk), and an MLflow tracking server backed by PostgreSQL."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import _missing, mirror_environment
from tests.helpers import smoke_params

# Set by .ci/run, which starts the server before `make test`: the tests use it as it is.
SERVER_URI_VAR = "ARRHYTHMIA_TEST_MLFLOW_URI"
SERVER_DSN_VAR = "ARRHYTHMIA_TEST_MLFLOW_DB"


def _pipeline_context(mp: pytest.MonkeyPatch, root: Path, mirrors: dict[str, Path]) -> None:
    mp.chdir(root)
    for variable, path in mirror_environment(mirrors).items():
        mp.setenv(variable, path)
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")


@pytest.fixture(scope="session")
def pipeline_outputs(tmp_path_factory, full_mirrors, prefect_harness):
    """Every flow, once per session, in a scratch project from the full mirrors with the real
    params.yaml shrunk to a smoke run (tests.helpers.smoke_params: a few records of each
    list, 150 CinC strips) and 2 folds of 2 seeds, 1 epoch; (root, params, what each flow
    returned). The protocol's own figures are checked on `make run`'s outputs
    (tests/test_pipeline_outputs.py).
    Tests that reuse the outputs must not change them: copy what a flow would rewrite."""
    from flows.evaluate import evaluate_flow
    from flows.ingest import ingest_flow
    from flows.preprocess import preprocess_flow
    from flows.register import register_flow
    from flows.train import train_flow
    from flows.train_detector import train_detector_flow
    from flows.validate_dataset import validate_dataset_flow
    from flows.validate_raw import validate_raw_flow

    root = tmp_path_factory.mktemp("project")
    reduced = smoke_params(full_mirrors, folds=2, seeds=2, max_epochs=1)
    (root / "params.yaml").write_text(yaml.safe_dump(reduced, sort_keys=False))
    with pytest.MonkeyPatch.context() as mp:
        _pipeline_context(mp, root, full_mirrors)
        results = {
            "ingest": ingest_flow(),
            "ingest_again": ingest_flow(),
            "validate_raw": validate_raw_flow(),
            "raw_receipt": (root / "data" / "validated" / "raw.json").read_bytes(),
            "validate_raw_again": validate_raw_flow(),
            "preprocess": preprocess_flow(),
            "validate_dataset": validate_dataset_flow(),
            "train_detector": train_detector_flow(),
            "train": train_flow(),
            "evaluate": evaluate_flow(),
            "register": register_flow(),
            "register_again": register_flow(),
        }
    return root, reduced, results


@pytest.fixture(scope="module")
def pipeline(pipeline_outputs, full_mirrors):
    """The session's pipeline outputs, with the working directory and environment the
    flows ran in (the project as cwd, its sqlite store) for the length of a module."""
    root, _, _ = pipeline_outputs
    with pytest.MonkeyPatch.context() as mp:
        _pipeline_context(mp, root, full_mirrors)
        yield pipeline_outputs


@dataclass(frozen=True)
class MlflowServer:
    tracking_uri: str  # http://127.0.0.1:PORT
    database_dsn: str  # its PostgreSQL backend store, for psycopg2.connect


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """An `mlflow server` on PostgreSQL with a served artifact store: the one .ci/run
    started (ARRHYTHMIA_TEST_MLFLOW_URI and ARRHYTHMIA_TEST_MLFLOW_DB), else one started
    here for the session; without PostgreSQL's binaries it fails in CI and skips elsewhere."""
    uri, dsn = os.environ.get(SERVER_URI_VAR), os.environ.get(SERVER_DSN_VAR)
    if uri:
        if not dsn:
            pytest.fail(f"{SERVER_URI_VAR} is set but {SERVER_DSN_VAR} (its database) is not")
        yield MlflowServer(uri, dsn)
        return
    from tools.services import postgres_bin_dir, tracking_services

    if postgres_bin_dir() is None:
        _missing("PostgreSQL's server binaries are missing (apt-get install postgresql)")
    with tracking_services(tmp_path_factory.mktemp("mlflow-server")) as services:
        yield MlflowServer(services.tracking_uri, services.database_dsn)
