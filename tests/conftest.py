"""Shared fixtures: paths to the committed record excerpts and the real params.yaml."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

ROOT = Path(__file__).resolve().parents[1]
EXCERPT_DIR = ROOT / "tests" / "data" / "mitdb_excerpt"
EXCERPT_RECORDS = ("100", "119", "208", "232")


@pytest.fixture
def excerpt_dir() -> Path:
    return EXCERPT_DIR


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
