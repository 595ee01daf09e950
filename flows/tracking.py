"""What a flow's process sets up for MLflow, kept out of the library because it is process-wide:
the current tracking store and experiment (for `mlflow.start_run`, `mlflow.log_*`), and the
git commit a training run records (git runs as a subprocess)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from arrhythmia.tracking.mlflow_setup import DEFAULT_EXPERIMENT


def activate_tracking(
    experiment: str = DEFAULT_EXPERIMENT, artifact_location: str | None = None
) -> str:
    """Point this process's MLflow at MLFLOW_TRACKING_URI (or the local sqlite default) and
    select `experiment`, created (with `artifact_location`, if given) and tagged when needed.

    MLflow 3 no longer accepts the old `./mlruns` file store without an explicit opt-in,
    so the URI is always set. Returns the tracking URI in use.
    """
    import mlflow

    from arrhythmia.tracking.mlflow_setup import ensure_experiment, tracking_uri

    uri = tracking_uri()
    experiment_id = ensure_experiment(experiment, artifact_location, uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment_id=experiment_id)
    return uri


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
