"""One record or signal in, its diagnosis out, as `arrhythmia predict`, the batch flow and
the served model all diagnose: read it in any accepted format, judge its quality once, put
the lead to read first (never a dead one), take beats from the detector (or from reference
annotations) and diagnose."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from arrhythmia.data.aami import aami_labels
from arrhythmia.data.readers import RecordError, read_record
from arrhythmia.data.wfdb_io import Beats, read_beats
from arrhythmia.detection.model import QrsDetector
from arrhythmia.inference.diagnose import Diagnosis, classified_records, diagnosis_of_beats
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


@dataclass(frozen=True)
class PreparedRecord:
    """A record ready for diagnosis: the lead to read first put first, its quality judged
    once (for that choice and for the diagnosis), and its reference beats where beats come
    from annotations (None: from the detector)."""

    ecg: EcgRecord
    quality: SignalQuality
    reference: Beats | None = None


def prepare_signal(
    ecg: EcgRecord,
    detector: QrsDetector | None,
    *,
    lead: str | None = None,
    reference: Beats | None = None,
) -> PreparedRecord:
    """The signal with the lead to read first put first (its quality judged once, for that
    choice and for the diagnosis); refused where no detector can find its beats."""
    quality = assess_quality(ecg.signal, ecg.fs)
    ecg, quality = lead_first(ecg, quality, lead)
    if reference is None and detector is None:
        raise RecordError(f"record {ecg.name}: no QRS detector to find beats with")
    return PreparedRecord(ecg, quality, reference)


def prepare_record(
    record_path: str | Path,
    detector: QrsDetector | None,
    *,
    beats_from: str | None = None,
    lead: str | None = None,
    fs: float | None = None,
) -> PreparedRecord:
    """The record read and prepared; its reference beats read from annotation file
    extension `beats_from`, where given."""
    record_path = Path(record_path)
    ecg = read_record(record_path, fs=fs)
    if record_path.suffix.lower() in (".hea", ".dat"):
        record_path = record_path.with_suffix("")
    reference = None
    if beats_from is not None:
        reference = beat_positions(record_path, beats_from, len(ecg.signal))
    return prepare_signal(ecg, detector, lead=lead, reference=reference)


def diagnose_prepared(
    records: Sequence[PreparedRecord],
    model: ModelHandle,
    detector: QrsDetector | None,
    beats_from: str | None = None,
) -> list[Diagnosis | Exception]:
    """Each record's diagnosis (or why it failed), their beats classified together; a
    record's failure after that costs no other record its diagnosis."""
    beats = classified_records([(r.ecg, r.quality, r.reference) for r in records], model, detector)
    out: list[Diagnosis | Exception] = []
    for record, found in zip(records, beats, strict=True):
        try:
            out.append(_diagnosis(record, found, model, beats_from))
        except Exception as error:  # reported per record by the caller
            traceback.clear_frames(error.__traceback__)  # the message stays, not the signals
            out.append(error)
    return out


def _diagnosis(record: PreparedRecord, beats, model: ModelHandle, beats_from: str | None):
    if record.reference is None:
        return diagnosis_of_beats(record.ecg, beats, model)
    d = diagnosis_of_beats(record.ecg, beats, model, beats_from, from_reference=True)
    return replace(d, reference=aami_labels(record.reference.symbol))


def diagnose_one(
    prepared: PreparedRecord,
    model: ModelHandle,
    detector: QrsDetector | None,
    beats_from: str | None = None,
) -> tuple[EcgRecord, Diagnosis]:
    """The prepared record and its diagnosis; raises where it fails."""
    diagnosis = diagnose_prepared([prepared], model, detector, beats_from)[0]
    if isinstance(diagnosis, Exception):
        raise diagnosis
    return prepared.ecg, diagnosis


def diagnose_signal(
    ecg: EcgRecord,
    model: ModelHandle,
    detector: QrsDetector | None,
    *,
    lead: str | None = None,
    reference: Beats | None = None,
    beats_from: str | None = None,
) -> tuple[EcgRecord, Diagnosis]:
    """The signal with the lead read first, and its diagnosis. Beats come from the
    detector unless `reference` holds them (read from annotation file extension
    `beats_from`)."""
    prepared = prepare_signal(ecg, detector, lead=lead, reference=reference)
    return diagnose_one(prepared, model, detector, beats_from)


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
    prepared = prepare_record(record_path, detector, beats_from=beats_from, lead=lead, fs=fs)
    return diagnose_one(prepared, model, detector, beats_from)


def predict_record(
    record_path: str | Path, model: ModelHandle, detector: QrsDetector | None, **options
) -> Diagnosis:
    """The diagnosis of one record: :func:`read_and_diagnose` without the signal (same
    keyword options: beats_from, lead, fs)."""
    return read_and_diagnose(record_path, model, detector, **options)[1]
