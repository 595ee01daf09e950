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

# windows (n, 2, L), rr (n, len(RR_FEATURES)) of one record -> (n, 5) probabilities
Predictor = Callable[[np.ndarray, np.ndarray], np.ndarray]


class ModelError(ArrhythmiaError):
    """The model named on the command line cannot be loaded."""


@dataclass(frozen=True)
class ModelHandle:
    predict: Predictor
    fs: float
    preprocess: PreprocessParams
    description: str
    detector: QrsDetector | None = None  # the QRS detector a registered raw-ECG model carries


def classifier_handle(classifier, description: str) -> ModelHandle:
    """The handle of a loaded BeatClassifier: each call is one record, one template."""
    rr_names = list(RR_FEATURES)

    def predict(windows: np.ndarray, rr: np.ndarray) -> np.ndarray:
        records = np.zeros(len(windows), dtype=np.int64)
        return classifier.predict_proba(windows, rr, rr_names, records)

    return ModelHandle(predict, classifier.fs, PreprocessParams(**classifier.preprocess),
                       description)  # fmt: skip


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
    mlflow.set_tracking_uri(store)
    try:
        return mlflow.pyfunc.load_model(uri)
    except (MlflowException, OSError) as error:
        raise ModelError(
            f"{uri}: cannot load it from the tracking store {store}: {first_line(error)}"
        ) from None
