"""Shared fixtures: paths to the committed record excerpts and the real params.yaml."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

ROOT = Path(__file__).resolve().parents[1]
EXCERPT_DIR = ROOT / "tests" / "data" / "mitdb_excerpt"
EXCERPT_RECORDS = ("100", "119", "208", "232")
SVDB_EXCERPT_DIR = ROOT / "tests" / "data" / "svdb_excerpt"
SVDB_EXCERPT_RECORDS = ("810", "822")
SVDB_EXCERPT_SIG_LEN = 7680  # 60 s at 128 Hz
CINC2017_EXCERPT_DIR = ROOT / "tests" / "data" / "cinc2017_excerpt"
VFDB_EXCERPT_DIR = ROOT / "tests" / "data" / "vfdb_excerpt"  # 611, 60 s
CUDB_EXCERPT_DIR = ROOT / "tests" / "data" / "cudb_excerpt"  # cu01, 60 s


@pytest.fixture
def excerpt_dir() -> Path:
    return EXCERPT_DIR


@pytest.fixture(scope="session")
def detector_file(tmp_path_factory) -> Path:
    """A small QRS detector file fitted on the excerpts (session-wide: it takes seconds)."""
    from tests.helpers import tiny_detector

    path = tmp_path_factory.mktemp("detector") / "qrs_detector.npz"
    tiny_detector(EXCERPT_DIR).save(path)
    return path


@pytest.fixture
def excerpt_copy(tmp_path: Path) -> Path:
    """A writable copy of the excerpts, for tests that corrupt them."""
    target = tmp_path / "mitdb"
    shutil.copytree(EXCERPT_DIR, target, ignore=shutil.ignore_patterns("*.md"))
    return target


@pytest.fixture
def raw_params() -> dict:
    """The real params.yaml, parsed; tests shrink it rather than keep their own copy."""
    from arrhythmia.config import load_raw_params

    return load_raw_params(ROOT / "params.yaml")


@pytest.fixture
def params(raw_params):
    from arrhythmia.config import params_from_dict

    return params_from_dict(raw_params)


def mirror_dir(database: str = "mitdb", probe: str = "100.dat") -> Path | None:
    """A full database mirror: ARRHYTHMIA_<DATABASE>_MIRROR, else <ARRHYTHMIA_MIRROR>/<database>,
    else ../shared/data/<database>."""
    configured = os.environ.get(f"ARRHYTHMIA_{database.upper()}_MIRROR")
    root = Path(os.environ.get("ARRHYTHMIA_MIRROR") or ROOT.parent / "shared" / "data")
    path = Path(configured) if configured else root / database
    return path if (path / probe).is_file() else None


def _missing(message: str) -> NoReturn:
    """In CI what a test needs must be there: its absence fails; elsewhere it skips."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _required_mirror(database: str, probe: str) -> Path:
    path = mirror_dir(database, probe)
    if path is None:
        variable = f"ARRHYTHMIA_{database.upper()}_MIRROR"
        _missing(f"the {database} mirror is missing (set {variable})")
    return path


@pytest.fixture(scope="session")
def full_mirror() -> Path:
    """Slow tests read their smoke records from the full MITDB mirror."""
    return _required_mirror("mitdb", "100.dat")


@pytest.fixture(scope="session")
def full_svdb_mirror() -> Path:
    """The pipeline's slow tests also ingest the 40 SVDB records."""
    return _required_mirror("svdb", "800.dat")


@pytest.fixture(scope="session")
def full_cinc2017_mirror() -> Path:
    """The pipeline's slow tests also ingest the CinC 2017 strips (the strip AF call)."""
    return _required_mirror("cinc2017", "A00003.mat")


@pytest.fixture(scope="session")
def full_vfdb_mirror() -> Path:
    """The pipeline's slow tests also ingest VFDB's 11 records (rhythm development data)."""
    return _required_mirror("vfdb", "418.dat")


@pytest.fixture(scope="session")
def full_cudb_mirror() -> Path:
    """... and CUDB's 18."""
    return _required_mirror("cudb", "cu01.dat")


@pytest.fixture(scope="session")
def full_mirrors(
    full_mirror, full_svdb_mirror, full_cinc2017_mirror, full_vfdb_mirror, full_cudb_mirror
) -> dict[str, Path]:
    """Every database the pipeline ingests, by name: its full mirror."""
    return {
        "mitdb": full_mirror,
        "svdb": full_svdb_mirror,
        "cinc2017": full_cinc2017_mirror,
        "vfdb": full_vfdb_mirror,
        "cudb": full_cudb_mirror,
    }


def mirror_environment(mirrors: dict[str, Path]) -> dict[str, str]:
    """ARRHYTHMIA_<DATABASE>_MIRROR of each mirror."""
    return {f"ARRHYTHMIA_{name.upper()}_MIRROR": str(path) for name, path in mirrors.items()}


@pytest.fixture(scope="session")
def chromium() -> str:
    """Tests that look at a page as a person would need headless Chromium."""
    from tools.screenshot import find_chromium

    path = find_chromium()
    if path is None:
        _missing("chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server for every test that runs a flow."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def project_dir(tmp_path, monkeypatch, raw_params):
    """A scratch project: the real params.yaml, a private MLflow store, cwd set to it."""
    import yaml

    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw_params, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


@pytest.fixture
def bundle(tmp_path, params):
    """A tiny random model bundle with the real preprocessing parameters."""
    from dataclasses import asdict

    from tests.helpers import tiny_classifier

    path = tmp_path / "model.pt"
    tiny_classifier(preprocess=asdict(params.preprocess)).save(path)
    return path


@pytest.fixture
def model_args(bundle, detector_file) -> list[str]:
    """`arrhythmia predict` options naming the tiny model and detector."""
    return ["--model", str(bundle), "--detector", str(detector_file)]
