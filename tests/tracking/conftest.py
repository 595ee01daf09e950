"""Fixtures for the MLflow tests: a private tracking store per test and a tiny model."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from arrhythmia.signal.rr import RR_FEATURES
from tests.helpers import TINY_RR, tiny_classifier  # noqa: F401 (TINY_RR: used by tests)


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, fully migrated sqlite store. Creating one runs MLflow's schema migrations
    (seconds); copying this file gives each test its own store in milliseconds."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    root = tmp_path_factory.mktemp("mlflow-template")
    db = root / "mlflow.db"
    store = SqlAlchemyStore(f"sqlite:///{db}", (root / "artifacts").as_uri())
    store.engine.dispose()
    return db


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_store: Path) -> str:
    """A private sqlite tracking store and artifact root inside tmp_path, made current."""
    import mlflow

    from flows.tracking import activate_tracking

    shutil.copyfile(empty_store, tmp_path / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK", "true")
    uri = activate_tracking("test", artifact_location=(tmp_path / "artifacts").as_uri())
    yield uri
    while mlflow.active_run() is not None:
        mlflow.end_run()


@dataclass
class Beats:
    windows: np.ndarray  # (n, 2, 252) float32
    rr: np.ndarray  # (n, 11) float32

    def as_input(self) -> dict[str, np.ndarray]:
        return {"windows": self.windows, "rr": self.rr}


@pytest.fixture
def classifier_path(tmp_path: Path) -> Path:
    path = tmp_path / "classifier.pt"
    tiny_classifier().save(path)
    return path


@pytest.fixture
def beats() -> Beats:
    rng = np.random.default_rng(0)
    n = 12
    t = np.linspace(-1, 1, 252, dtype=np.float32)
    qrs = np.exp(-((t + 0.28) ** 2) / 0.002).astype(np.float32)
    windows = qrs[None, None, :] * rng.uniform(0.5, 1.5, (n, 2, 1)).astype(np.float32)
    windows += rng.normal(0, 0.05, (n, 2, 252)).astype(np.float32)
    rr = rng.uniform(0.6, 1.4, (n, len(RR_FEATURES))).astype(np.float32)
    return Beats(windows=windows.astype(np.float32), rr=rr)
