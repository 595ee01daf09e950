"""`arrhythmia predict` for one record: read it in any accepted format, put the chosen lead
first, take beats from the detector (or from reference annotations), diagnose, and write
`<out>/<record>.cnn` and `<out>/<record>.json`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from arrhythmia.data.aami import aami_labels
from arrhythmia.data.readers import RecordError, read_record
from arrhythmia.data.wfdb_io import Beats, read_beats
from arrhythmia.detection.model import QrsDetector
from arrhythmia.inference.diagnose import Diagnosis, diagnose
from arrhythmia.inference.model_handle import ModelHandle
from arrhythmia.signal.ecg import EcgRecord, primary_lead_first


def beat_positions(record_path: Path, beats_from: str, n_samples: int) -> Beats:
    """Beat positions (and reference symbols) from annotation file `<record>.<beats_from>`."""
    annotation = Path(f"{record_path}.{beats_from}")
    if not annotation.is_file():
        raise RecordError(f"{annotation}: no annotation file to take beat positions from")
    try:
        beats = read_beats(record_path, beats_from)
    except Exception as error:  # wfdb raises bare ValueErrors and struct errors
        raise RecordError(f"{annotation}: cannot read annotations: {error}") from error
    inside = (beats.sample >= 0) & (beats.sample < n_samples)
    return Beats(sample=beats.sample[inside], symbol=beats.symbol[inside])


def choose_lead(record: EcgRecord, lead: str | None) -> EcgRecord:
    """Put the requested lead first (MLII or II by default, else the first signal)."""
    if lead is None:
        return primary_lead_first(record)
    if lead not in record.leads:
        raise RecordError(
            f"record {record.name}: no lead named {lead!r} (leads: {list(record.leads)})"
        )
    return primary_lead_first(record, (lead,))


def read_and_diagnose(
    record_path: str | Path,
    model: ModelHandle,
    detector: QrsDetector | None,
    *,
    beats_from: str | None = None,
    lead: str | None = None,
    fs: float | None = None,
) -> tuple[EcgRecord, Diagnosis]:
    """The record as read (chosen lead first) and its diagnosis: the signal is kept for
    whatever draws it, so the record is read once. Beats come from the detector unless
    `beats_from` names an annotation file extension (evaluation against reference beats)."""
    record_path = Path(record_path)
    ecg = choose_lead(read_record(record_path, fs=fs), lead)
    if record_path.suffix.lower() in (".hea", ".dat"):
        record_path = record_path.with_suffix("")
    if beats_from is None:
        if detector is None:
            raise RecordError(f"{record_path}: no QRS detector to find beats with")
        return ecg, diagnose(ecg, model, detector)
    beats = beat_positions(record_path, beats_from, len(ecg.signal))
    reference = aami_labels(beats.symbol)
    result = diagnose(ecg, model, None, reference=beats, beats_from=beats_from)
    return ecg, _with_reference(result, reference)


def predict_record(
    record_path: str | Path, model: ModelHandle, detector: QrsDetector | None, **options
) -> Diagnosis:
    """The diagnosis of one record: :func:`read_and_diagnose` without the signal (same
    keyword options: beats_from, lead, fs)."""
    return read_and_diagnose(record_path, model, detector, **options)[1]


def _with_reference(result: Diagnosis, reference: np.ndarray) -> Diagnosis:
    return replace(result, reference=reference)
