"""MLflow tracking setup and run metadata (params and data versions).

mlflow is imported inside the functions only, so that `arrhythmia --help` stays fast.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from arrhythmia.errors import ArrhythmiaError

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
DEFAULT_EXPERIMENT = "arrhythmia"
# Without this tag MLflow 3's UI opens an experiment in its GenAI view, not the runs table.
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")
# The figures that compare models: the runs table shows them as columns (saved view below),
# and each registered version carries them as tags.
HEADLINE_METRICS: tuple[str, ...] = (
    "dev_val_score",
    "dev_val_sveb_se",
    "dev_val_sveb_pp",
    "dev_val_veb_se",
    "dev_val_veb_pp",
    "ds2_sveb_se",
    "ds2_sveb_pp",
    "ds2_veb_se",
    "ds2_veb_pp",
    "ds2_accuracy",
    "ds2_macro_f1",
)
# A saved runs-table view (MLflow's shared view state: an experiment tag holding the UI
# state as JSON), opened with `#/experiments/<id>?viewStateShareKey=headline`.
HEADLINE_VIEW_KEY = "headline"
VIEW_STATE_TAG_PREFIX = "mlflow.sharedViewState."


class MissingRunError(ArrhythmiaError):
    """A run named by a file of this project is not in the tracking store in use."""


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def ensure_experiment(
    experiment: str = DEFAULT_EXPERIMENT,
    artifact_location: str | None = None,
    uri: str | None = None,
) -> str:
    """The id of `experiment` in the tracking store `uri` (default: MLFLOW_TRACKING_URI, else
    the local sqlite store), created (with `artifact_location`, if given) when it does not
    exist, and tagged so that the UI opens its runs table in the headline view.

    Only this store is touched: making it the process's current store and experiment
    (`mlflow.set_tracking_uri`, `mlflow.set_experiment`) is the caller's choice, made where
    the process starts (the flows do it in flows/tracking.py).
    """
    from mlflow import MlflowClient

    client = MlflowClient(uri or tracking_uri())
    found = client.get_experiment_by_name(experiment)
    if found is None:
        client.create_experiment(experiment, artifact_location=artifact_location)
        found = client.get_experiment_by_name(experiment)
    wanted = {EXPERIMENT_KIND[0]: EXPERIMENT_KIND[1], **headline_view_tag()}
    for key, value in wanted.items():
        if found.tags.get(key) != value:
            client.set_experiment_tag(found.experiment_id, key, value)
    return found.experiment_id


def headline_view_path(experiment_id: str) -> str:
    """The UI route (after `#`) of the runs table in its headline view. MLflow 3.17's UI
    follows its GenAI / Model-training switch (default GenAI) over the experiment's kind tag,
    so the route picks Model training explicitly."""
    return (
        f"/experiments/{experiment_id}/runs"
        f"?workflowType=machine_learning&viewStateShareKey={HEADLINE_VIEW_KEY}"
    )


def headline_view_tag() -> dict[str, str]:
    """The experiment tag of the runs-table view whose columns are the headline figures."""
    state = {
        "selectedColumns": [f"metrics.`{name}`" for name in HEADLINE_METRICS],
        "orderByKey": "attributes.start_time",
        "orderByAsc": False,
    }
    return {VIEW_STATE_TAG_PREFIX + HEADLINE_VIEW_KEY: json.dumps(state)}


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


def file_md5(path: str | Path) -> str:
    """The md5 of a file's bytes: the hash DVC records for a file output in dvc.lock, so a
    run's dataset digest names the same version of the data as `dvc.lock` does."""
    with Path(path).open("rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def missing_sqlite_store() -> str | None:
    """The tracking URI when it names a sqlite file that does not exist (opening it would
    create an empty store), else None."""
    uri = tracking_uri()
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        return uri
    return None


def require_run(run_id: str, recorded_in: str | Path) -> None:
    """Fail clearly when the run that a committed or pulled file names is not in this
    tracking store (a fresh clone, another machine, a deleted mlflow.db); never creates
    an empty store on the way."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    absent = missing_sqlite_store()
    if absent is not None:
        raise MissingRunError(
            f"{recorded_in} names MLflow run {run_id}, but there is no tracking store at "
            f"{absent} (a fresh clone has none): re-train with `dvc repro --force train`, or "
            "set MLFLOW_TRACKING_URI to the store that holds the run"
        )
    try:
        MlflowClient(tracking_uri()).get_run(run_id)
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        raise MissingRunError(
            f"{recorded_in} names MLflow run {run_id}, which is not in the tracking store "
            f"{tracking_uri()} (the model was trained on another machine or the store was "
            "deleted): re-train with `dvc repro --force train`, or set MLFLOW_TRACKING_URI "
            "to the store that holds the run"
        ) from None
