"""One record or signal in, its diagnosis out, as `arrhythmia predict`, the batch flow and
the served model all diagnose: read it in any accepted format, judge its quality once, put
the lead to read first (never a dead one), take beats from the detector (or from reference
annotations) and diagnose."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from arrhythmia.data.aami import aami_labels
from arrhythmia.data.readers import RecordError, read_record
from arrhythmia.data.wfdb_io import Beats, read_beats
from arrhythmia.detection.model import QrsDetector
from arrhythmia.inference.diagnose import Diagnosis, diagnose
from arrhythmia.inference.leads import lead_first
from arrhythmia.inference.model_handle import ModelHandle
from arrhythmia.signal.ecg import EcgRecord
from arrhythmia.signal.quality import SignalQuality, assess_quality


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


def read_lead_first(record_path: str | Path) -> tuple[EcgRecord, SignalQuality]:
    """A record as the product reads it, with its quality judged once and the lead to read
    first (never a dead one) put first: what the learnt calls' training data is made of."""
    ecg = read_record(record_path)
    return lead_first(ecg, assess_quality(ecg.signal, ecg.fs), None)


def diagnose_signal(
    ecg: EcgRecord,
    model: ModelHandle,
    detector: QrsDetector | None,
    *,
    lead: str | None = None,
    reference: Beats | None = None,
    beats_from: str | None = None,
) -> tuple[EcgRecord, Diagnosis]:
    """The signal with the lead read first, and its diagnosis. Its quality is judged once,
    for the choice of lead and for the diagnosis. Beats come from the detector unless
    `reference` holds them (read from annotation file extension `beats_from`)."""
    quality = assess_quality(ecg.signal, ecg.fs)
    ecg, quality = lead_first(ecg, quality, lead)
    if reference is None:
        if detector is None:
            raise RecordError(f"record {ecg.name}: no QRS detector to find beats with")
        return ecg, diagnose(ecg, model, detector, quality=quality)
    result = diagnose(ecg, model, None, reference=reference, beats_from=beats_from, quality=quality)
    return ecg, replace(result, reference=aami_labels(reference.symbol))


def read_and_diagnose(
    record_path: str | Path,
    model: ModelHandle,
    detector: QrsDetector | None,
    *,
    beats_from: str | None = None,
    lead: str | None = None,
    fs: float | None = None,
) -> tuple[EcgRecord, Diagnosis]:
    """The record as read (the lead read first) and its diagnosis: the signal is kept for
    whatever draws it, so the record is read once. Beats come from the detector unless
    `beats_from` names an annotation file extension (evaluation against reference beats)."""
    record_path = Path(record_path)
    ecg = read_record(record_path, fs=fs)
    if record_path.suffix.lower() in (".hea", ".dat"):
        record_path = record_path.with_suffix("")
    reference = None
    if beats_from is not None:
        reference = beat_positions(record_path, beats_from, len(ecg.signal))
    return diagnose_signal(
        ecg, model, detector, lead=lead, reference=reference, beats_from=beats_from
    )


def predict_record(
    record_path: str | Path, model: ModelHandle, detector: QrsDetector | None, **options
) -> Diagnosis:
    """The diagnosis of one record: :func:`read_and_diagnose` without the signal (same
    keyword options: beats_from, lead, fs)."""
    return read_and_diagnose(record_path, model, detector, **options)[1]
