"""A record in, one AAMI label per beat out, written as a WFDB annotation file and a JSON
summary. Beat positions come from a named source: an annotation file today, a QRS
detector later (add it to `beat_positions`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arrhythmia.atomic import write_json
from arrhythmia.config import PreprocessParams
from arrhythmia.data.aami import AAMI_CLASSES, SYMBOL_TO_AAMI
from arrhythmia.data.wfdb_io import Beats, read_beats, read_ecg
from arrhythmia.errors import ArrhythmiaError, first_line
from arrhythmia.signal.beat_features import beat_features
from arrhythmia.signal.ecg import EcgRecord, primary_lead_first
from arrhythmia.signal.resample import resample_positions, resample_record
from arrhythmia.signal.rr import RR_FEATURES

# windows (n, 2, L), rr (n, len(RR_FEATURES)) of one record -> (n, 5) probabilities
Predictor = Callable[[np.ndarray, np.ndarray], np.ndarray]


class RecordError(ArrhythmiaError):
    """The record, its beat source or the chosen lead cannot be used."""


class ModelError(ArrhythmiaError):
    """The model named on the command line cannot be loaded."""


@dataclass(frozen=True)
class ModelHandle:
    predict: Predictor
    fs: float
    preprocess: PreprocessParams
    description: str


@dataclass(frozen=True)
class RecordPrediction:
    record: str
    fs: float
    leads: tuple[str, ...]
    samples: np.ndarray  # beat positions at the record's own rate
    labels: np.ndarray  # AAMI letters
    proba: np.ndarray
    reference: (
        np.ndarray | None
    )  # AAMI letters of the reference annotations, if that was the source


def load_model(model: str) -> ModelHandle:
    """A trained bundle file (the pipeline's models/cnn.pt) or an MLflow model URI
    (models:/arrhythmia-cnn@champion, runs:/...)."""
    from arrhythmia.models.bundle import BeatClassifier

    if "://" not in model and ":/" not in model:
        classifier = BeatClassifier.load(model)
        rr_names = list(RR_FEATURES)

        def predict(windows: np.ndarray, rr: np.ndarray) -> np.ndarray:
            records = np.zeros(len(windows), dtype=np.int64)  # one record: one template
            return classifier.predict_proba(windows, rr, rr_names, records)

        return ModelHandle(predict, classifier.fs, PreprocessParams(**classifier.preprocess), model)

    pyfunc = _load_mlflow_model(model)
    classifier = pyfunc.unwrap_python_model().classifier

    def predict_served(windows: np.ndarray, rr: np.ndarray) -> np.ndarray:
        out = pyfunc.predict({"windows": windows.astype(np.float32), "rr": rr.astype(np.float32)})
        return out[[f"p_{c}" for c in AAMI_CLASSES]].to_numpy()

    return ModelHandle(
        predict_served, classifier.fs, PreprocessParams(**classifier.preprocess), model
    )


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


def beat_positions(record_path: Path, beats_from: str) -> Beats:
    """Beat positions (and reference symbols) from annotation file `<record>.<beats_from>`."""
    annotation = Path(f"{record_path}.{beats_from}")
    if not annotation.is_file():
        raise RecordError(f"{annotation}: no annotation file to take beat positions from")
    try:
        beats = read_beats(record_path, beats_from)
    except Exception as error:  # wfdb raises bare ValueErrors and struct errors
        raise RecordError(f"{annotation}: cannot read annotations: {error}") from error
    if len(beats.sample) < 2:
        raise RecordError(f"{annotation}: needs at least 2 beats, found {len(beats.sample)}")
    return beats


def choose_lead(record: EcgRecord, lead: str | None) -> EcgRecord:
    """Put the requested lead first (MLII or II by default, else the first signal)."""
    if lead is None:
        return primary_lead_first(record)
    if lead not in record.leads:
        raise RecordError(
            f"record {record.name}: no lead named {lead!r} (leads: {list(record.leads)})"
        )
    return primary_lead_first(record, (lead,))


def predict_record(
    record_path: str | Path, model: ModelHandle, *, beats_from: str = "atr", lead: str | None = None
) -> RecordPrediction:
    record_path = Path(record_path)
    if not Path(f"{record_path}.hea").is_file():
        raise RecordError(
            f"{record_path}.hea: no such WFDB header (give the path without extension)"
        )
    try:
        ecg = read_ecg(record_path)
    except Exception as error:
        raise RecordError(f"{record_path}: cannot read the record: {error}") from error
    ecg = choose_lead(ecg, lead)
    beats = beat_positions(record_path, beats_from)
    inside = (beats.sample >= 0) & (beats.sample < len(ecg.signal))
    beats = Beats(sample=beats.sample[inside], symbol=beats.symbol[inside])

    at_model_rate = resample_record(ecg, model.fs)
    samples = resample_positions(beats.sample, ecg.fs, model.fs, len(at_model_rate.signal))
    features = beat_features(at_model_rate, samples, model.preprocess)
    proba = model.predict(features.windows, features.rr)
    labels = np.array(AAMI_CLASSES)[proba.argmax(axis=1)]
    reference = np.array([SYMBOL_TO_AAMI[s] for s in beats.symbol]) if beats_from == "atr" else None
    return RecordPrediction(
        record=record_path.name, fs=ecg.fs, leads=ecg.leads[:2], samples=beats.sample,
        labels=labels, proba=proba, reference=reference,
    )  # fmt: skip


def summary(prediction: RecordPrediction, model_description: str, beats_from: str) -> dict:
    counts = {c: int(np.sum(prediction.labels == c)) for c in AAMI_CLASSES}
    result = {
        "record": prediction.record, "model": model_description, "beats_from": beats_from,
        "fs": prediction.fs, "leads": list(prediction.leads),
        "n_beats": int(len(prediction.labels)), "counts": counts,
    }  # fmt: skip
    if prediction.reference is not None:
        result["reference_counts"] = {
            c: int(np.sum(prediction.reference == c)) for c in AAMI_CLASSES
        }
        result["agreement_with_reference"] = float(
            np.mean(prediction.labels == prediction.reference)
        )
    return result


def write_prediction(
    prediction: RecordPrediction, out_dir: str | Path, info: dict, extension: str = "cnn"
) -> tuple[Path, Path]:
    """`<out>/<record>.cnn` (WFDB annotations, one AAMI symbol per beat at the input's
    sample positions and rate) and `<out>/<record>.json`; each lands whole or not at all."""
    import wfdb

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{prediction.record}.{extension}"
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".predict-") as tmp:
        wfdb.wrann(
            prediction.record, extension, prediction.samples, symbol=list(prediction.labels),
            fs=prediction.fs, write_dir=tmp,
        )  # fmt: skip
        os.replace(Path(tmp) / target.name, target)
    json_path = out_dir / f"{prediction.record}.json"
    write_json(json_path, info)
    return target, json_path
