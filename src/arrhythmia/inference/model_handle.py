"""The trained beat classifier behind one interface, whether it comes from the pipeline's
bundle file or from an MLflow model URI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from arrhythmia.config import PreprocessParams
from arrhythmia.errors import ArrhythmiaError, first_line
from arrhythmia.signal.rr import RR_FEATURES

if TYPE_CHECKING:
    from arrhythmia.detection.model import QrsDetector
    from arrhythmia.rhythm.strip_model import StripAfModel
    from arrhythmia.rhythm.ventricular import VentricularModel

# windows (n, 2, L), rr (n, len(RR_FEATURES)) and, optionally, units (n,): which beats
# make one template (a record or a chunk of one; left out: all of them) -> (n, 5) probabilities
Predictor = Callable[..., np.ndarray]


class ModelError(ArrhythmiaError):
    """The model named on the command line cannot be loaded."""


@dataclass(frozen=True)
class ModelHandle:
    predict: Predictor
    fs: float
    preprocess: PreprocessParams
    description: str
    detector: QrsDetector | None = None  # the QRS detector a registered raw-ECG model carries
    strip_af: StripAfModel | None = None  # the learnt AF call of short strips, if any
    ventricular: VentricularModel | None = None  # the learnt presence of VT / VF, if any


def classifier_handle(classifier, description: str) -> ModelHandle:
    """The handle of a loaded BeatClassifier: one template per unit (record or chunk)."""
    rr_names = list(RR_FEATURES)

    def predict(windows: np.ndarray, rr: np.ndarray, units: np.ndarray | None = None):
        if units is None:
            units = np.zeros(len(windows), dtype=np.int64)
        return classifier.predict_proba(windows, rr, rr_names, units)

    return ModelHandle(
        predict,
        classifier.fs,
        PreprocessParams(**classifier.preprocess),
        description,
        strip_af=classifier.strip_af_model(),
        ventricular=classifier.ventricular_model(),
    )


def is_model_uri(model: str) -> bool:
    """An MLflow model URI (models:/..., runs:/..., s3://...), not a bundle file's path."""
    return "://" in model or ":/" in model


def load_model(model: str) -> ModelHandle:
    """A trained bundle file (the pipeline's models/cnn.pt) or an MLflow model URI
    (models:/arrhythmia-cnn@champion, runs:/...): either registered model, raw-ECG or
    beat-level, carries the same BeatClassifier; the raw-ECG one also its QRS detector."""
    from arrhythmia.models.bundle import BeatClassifier

    if not is_model_uri(model):
        return classifier_handle(BeatClassifier.load(model), model)
    served = _load_mlflow_model(model).unwrap_python_model()
    handle = classifier_handle(served.classifier, model)
    return replace(handle, detector=getattr(served, "detector", None))


def _load_mlflow_model(uri: str):
    """The pyfunc behind an MLflow URI; a missing MLflow, run, model or alias is one clear
    error, not a traceback."""
    try:
        import mlflow
        from mlflow.exceptions import MlflowException
    except ImportError:
        raise ModelError(
            f"{uri}: loading an MLflow model needs MLflow: pip install 'arrhythmia[serve]'"
        ) from None
    from arrhythmia.tracking.mlflow_setup import missing_sqlite_store, tracking_uri

    absent = missing_sqlite_store()
    if absent is not None:  # opening it would create an empty store
        raise ModelError(
            f"{uri}: there is no MLflow tracking store at {absent} (a fresh clone has none: "
            "run the pipeline, or set MLFLOW_TRACKING_URI to the store that holds the model)"
        )
    store = tracking_uri()
    try:
        # The store is named on each call: loading a model leaves MLflow's global URIs alone.
        location = _artifact_location(mlflow.MlflowClient(store), uri)
        local = mlflow.artifacts.download_artifacts(location, tracking_uri=store)
        return mlflow.pyfunc.load_model(local)
    except (MlflowException, OSError) as error:
        raise ModelError(
            f"{uri}: cannot load it from the tracking store {store}: {first_line(error)}"
        ) from None


def _artifact_location(client, uri: str) -> str:
    """Where the artifacts of a model URI are, looked up with `client`: MLflow's own lookup
    of models:/ and runs:/ URIs asks the process-wide store and registry. models:/ names a
    registered version (name@alias, name/version) or a logged model (its id); runs:/RUN/NAME
    the model that run logged as NAME. Other URIs are returned as they are."""
    from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository
    from mlflow.store.artifact.utils.models import get_model_name_and_version

    if uri.startswith("runs:/"):
        run_id, _, path = uri.removeprefix("runs:/").partition("/")
        name, _, rest = path.partition("/")
        run = client.get_run(run_id)
        logged = client.search_logged_models(
            [run.info.experiment_id], f"name = '{name}' AND source_run_id = '{run_id}'"
        )
        base = logged[0].artifact_location if logged else f"{run.info.artifact_uri}/{name}"
        return f"{base.rstrip('/')}/{rest}" if rest else base
    while uri.startswith("models:/"):  # a version's source may itself be models:/<model id>
        model, path = ModelsArtifactRepository.split_models_uri(uri)
        found = get_model_name_and_version(client, model)
        if len(found) == 1:
            base = client.get_logged_model(found[0]).artifact_location
        else:
            base = client.get_model_version_download_uri(*found)
        uri = f"{base.rstrip('/')}/{path}" if path else base
    return uri
