"""MLflow tracking setup and run metadata (params, code and data versions).

mlflow is imported inside the functions only, so that `arrhythmia --help` stays fast.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
DEFAULT_EXPERIMENT = "arrhythmia"


def configure_tracking(
    experiment: str = DEFAULT_EXPERIMENT, artifact_location: str | None = None
) -> str:
    """Point MLflow at MLFLOW_TRACKING_URI (or the local sqlite default) and select the
    experiment, creating it (with `artifact_location`, if given) when it does not exist.

    MLflow 3 no longer accepts the old `./mlruns` file store without an explicit opt-in,
    so the URI is always set. Returns the tracking URI in use.
    """
    import mlflow

    uri = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    mlflow.set_tracking_uri(uri)
    if artifact_location is not None and mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(experiment, artifact_location=artifact_location)
    mlflow.set_experiment(experiment)
    return uri


def flatten_params(d: Mapping, prefix: str = "") -> dict[str, str | float | int]:
    """Nested mapping -> flat {"train.lr": 0.001, ...} for `mlflow.log_params`.

    Lists and tuples become JSON strings, None becomes "None", anything else that is not a
    number, bool or string becomes its `str()`.
    """
    flat: dict[str, str | float | int] = {}
    for key, value in d.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, name))
        elif isinstance(value, list | tuple):
            flat[name] = json.dumps(list(value), default=str)
        elif isinstance(value, bool | int | float | str):
            flat[name] = value
        else:
            flat[name] = str(value)
    return flat


def _git(args: list[str], root: str | Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_commit(root: str | Path = ".") -> str | None:
    """HEAD's commit hash, with "-dirty" appended when tracked files have uncommitted
    changes (untracked files do not count); None outside a git repository or without git."""
    head = _git(["rev-parse", "HEAD"], root)
    if not head or not head.strip():
        return None
    commit = head.strip()
    status = _git(["status", "--porcelain", "--untracked-files=no"], root)
    if status and any(line.strip() for line in status.splitlines()):
        commit += "-dirty"
    return commit


def dvc_output_hash(
    lock_path: str | Path = "dvc.lock", path: str = "data/processed/beats.npz"
) -> str | None:
    """The md5 that dvc.lock records for the output `path` (relative to the dvc.lock
    directory), to tag a run with the dataset version; None when the lock file or the output
    is absent. A directory output's hash ends in ".dir"."""
    import yaml

    lock_path = Path(lock_path)
    if not lock_path.is_file():
        return None
    lock = yaml.safe_load(lock_path.read_text()) or {}
    wanted = PurePosixPath(Path(path).as_posix())
    for stage in (lock.get("stages") or {}).values():
        for out in (stage or {}).get("outs") or []:
            if not isinstance(out, Mapping) or "path" not in out:
                continue
            if PurePosixPath(str(out["path"]).rstrip("/")) == wanted:
                md5 = out.get("md5")
                return str(md5) if md5 else None
    return None
