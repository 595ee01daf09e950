"""A record in, its diagnosis out: beats found (or taken from reference annotations),
each beat's AAMI class, rhythm episodes, pauses and unreadable stretches.

Long records are worked through in chunks (detection, filtering and classification each
see at most CHUNK_S plus margins), so memory stays bounded on 24-hour recordings; only the
beat list and the raw signal are whole-record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.data.wfdb_io import Beats
from arrhythmia.detection.fiducial import MIN_RR_S, merge_close
from arrhythmia.detection.model import Detection, QrsDetector
from arrhythmia.inference.model_handle import ModelHandle
from arrhythmia.rhythm.consistency import no_premature_in_fibrillation
from arrhythmia.rhythm.episodes import Episode, find_episodes, find_pauses
from arrhythmia.signal.beat_features import clean_signal, preprocessed_rr
from arrhythmia.signal.beats import beat_windows, window_bounds
from arrhythmia.signal.ecg import EcgRecord
from arrhythmia.signal.quality import (
    SignalQuality,
    assess_quality,
    doubtful_stretches,
    inside,
    union,
)
from arrhythmia.signal.resample import resample_positions, resample_record

CHUNK_S = 1800.0  # 30 min, a MITDB record: its beats make the patient template, as in training
MARGIN_S = 10.0  # context each side of a chunk, so filters and detectors settle
BATCH_BEATS = 8192  # beats classified in one model call at most (bounded memory)
NO_BEATS_IN = ("VFL",)  # no QRS complexes there: what the detector finds is flutter waves


@dataclass(frozen=True)
class Diagnosis:
    record: str
    fs: float
    leads: tuple[str, ...]
    n_samples: int
    samples: np.ndarray  # beat positions at the record's own rate
    labels: np.ndarray  # AAMI letters
    proba: np.ndarray  # (n_beats, 5)
    episodes: list[Episode]
    unreadable: list[tuple[int, int]]
    pauses: list[tuple[int, int]]
    beats_from: str  # "detector" or the annotation extension
    # AAMI letters of the reference beats, when they were the source
    reference: np.ndarray | None = None


def _chunks(n_samples: int, fs: float):
    """(start, stop) cores of CHUNK_S covering the record; the last takes the remainder."""
    size = int(CHUNK_S * fs)
    starts = list(range(0, n_samples, size)) or [0]
    if len(starts) > 1 and n_samples - starts[-1] < size // 2:
        starts.pop()  # a short tail joins the previous chunk
    stops = starts[1:] + [n_samples]
    return list(zip(starts, stops, strict=True))


def detect_beats(ecg: EcgRecord, detector: QrsDetector) -> Detection:
    """R-peak positions (and doubtful candidates) over the whole record, chunk by chunk."""
    margin = int(MARGIN_S * ecg.fs)
    beats, doubtful = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for start, stop in _chunks(len(ecg.signal), ecg.fs):
        lo, hi = max(0, start - margin), min(len(ecg.signal), stop + margin)
        found = detector.find(ecg.signal[lo:hi], ecg.fs)
        for kept, part in ((beats, found.samples + lo), (doubtful, found.doubtful + lo)):
            kept.append(part[(part >= start) & (part < stop)])
    # a beat near a chunk edge may be found by both chunks, a few samples apart
    samples = merge_close(np.unique(np.concatenate(beats)), int(MIN_RR_S * ecg.fs))
    return Detection(samples, np.unique(np.concatenate(doubtful)))


@dataclass(frozen=True)
class _Piece:
    """The beats of one chunk of one record, as model inputs."""

    record: int  # which of the records being classified
    index: np.ndarray  # positions in that record's beat list
    windows: np.ndarray
    rr: np.ndarray


def _beat_rr(
    ecg: EcgRecord, samples: np.ndarray, model: ModelHandle
) -> tuple[np.ndarray, np.ndarray] | None:
    """The beats' positions at the model's rate and their RR features; None where there is
    no RR interval."""
    n_at_model = int(round(len(ecg.signal) * model.fs / ecg.fs))
    at_model = resample_positions(samples, ecg.fs, model.fs, n_at_model)
    # RR features need strictly increasing beats: reference annotations may repeat a sample
    distinct, position = np.unique(at_model, return_inverse=True)
    if len(distinct) < 2:
        return None
    return at_model, preprocessed_rr(distinct, model.fs, model.preprocess)[position]


def _pieces(
    ecg: EcgRecord,
    samples: np.ndarray,
    model: ModelHandle,
    record: int,
    beat_rr: tuple[np.ndarray, np.ndarray],
) -> Iterator[_Piece]:
    """The record's beats as model inputs, chunk by chunk at the model's sampling rate
    (each chunk makes its own template), one chunk in memory at a time."""
    p = model.preprocess
    at_model, rr = beat_rr
    pre, post = window_bounds(model.fs, p.window_pre_s, p.window_post_s)
    margin = int(MARGIN_S * ecg.fs)
    for start, stop in _chunks(len(ecg.signal), ecg.fs):
        in_chunk = np.flatnonzero((samples >= start) & (samples < stop))
        if len(in_chunk) == 0:
            continue
        lo, hi = max(0, start - margin), min(len(ecg.signal), stop + margin)
        piece = EcgRecord(ecg.name, ecg.fs, ecg.signal[lo:hi].astype(np.float64), ecg.leads)
        piece = resample_record(piece, model.fs)
        offset = round(lo * model.fs / ecg.fs)
        local = np.clip(at_model[in_chunk] - offset, 0, len(piece.signal) - 1)
        windows = beat_windows(clean_signal(piece, local, p), local, pre, post)
        yield _Piece(record, in_chunk, windows, rr[in_chunk])


def _in_one_call(pieces: list[_Piece], model: ModelHandle) -> list[np.ndarray]:
    """Each piece's probabilities, from one model call (each piece its own template)."""
    units = np.repeat(np.arange(len(pieces)), [len(piece.index) for piece in pieces])
    windows = np.concatenate([piece.windows for piece in pieces])
    rr = np.concatenate([piece.rr for piece in pieces])
    proba = model.predict(windows, rr, units)
    return [proba[units == unit] for unit in range(len(pieces))]


def _batches(pieces: Iterable[_Piece]) -> Iterator[list[_Piece]]:
    """The pieces in groups of at most BATCH_BEATS beats (a larger piece alone)."""
    batch: list[_Piece] = []
    size = 0
    for piece in pieces:
        if batch and size + len(piece.index) > BATCH_BEATS:
            yield batch
            batch, size = [], 0
        batch.append(piece)
        size += len(piece.index)
    if batch:
        yield batch


def classify_records(
    records: Sequence[tuple[EcgRecord, np.ndarray]], model: ModelHandle
) -> list[np.ndarray]:
    """Each record's (n_beats, 5) class probabilities, for (record, beat samples) pairs.
    Short records are classified together, up to BATCH_BEATS beats a model call: a call
    per 10-s strip would cost more than its beats. The result is the same as one record
    at a time."""
    probas = [np.zeros((len(samples), len(AAMI_CLASSES)), np.float32) for _, samples in records]

    def pieces() -> Iterator[_Piece]:
        for k, (ecg, samples) in enumerate(records):
            beat_rr = _beat_rr(ecg, samples, model)
            if beat_rr is None:  # a lone beat's class cannot be told, so it is Q
                probas[k][:, AAMI_CLASSES.index("Q")] = 1.0
            else:
                yield from _pieces(ecg, samples, model, k, beat_rr)

    for batch in _batches(pieces()):
        for piece, proba in zip(batch, _in_one_call(batch, model), strict=True):
            probas[piece.record][piece.index] = proba
    return [unclassifiable_as_q(proba) for proba in probas]


def classify_beats(ecg: EcgRecord, samples: np.ndarray, model: ModelHandle) -> np.ndarray:
    """(n_beats, 5) class probabilities of one record's beats."""
    return classify_records([(ecg, samples)], model)[0]


def unclassifiable_as_q(proba: np.ndarray) -> np.ndarray:
    """A beat whose probabilities are not finite numbers is Q (unclassifiable): a label is
    never made from a NaN."""
    broken = ~np.isfinite(proba).all(axis=1)
    proba[broken] = 0.0
    proba[broken, AAMI_CLASSES.index("Q")] = 1.0
    return proba


@dataclass(frozen=True)
class ClassifiedBeats:
    """A record's beats and classes before any rhythm rule, and where it cannot be read."""

    samples: np.ndarray
    labels: np.ndarray  # the network's AAMI letters
    proba: np.ndarray  # (n_beats, 5)
    unreadable: list[tuple[int, int]]  # from the signal alone
    noisy: list[tuple[int, int]]  # where the detector doubts many candidates


def _found_beats(
    ecg: EcgRecord, detector: QrsDetector | None, quality: SignalQuality, reference: Beats | None
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Beat positions from `detector` outside the unreadable stretches (or `reference`'s),
    and where the detector doubts many candidates."""
    if reference is not None:
        return reference.sample, []
    found = detect_beats(ecg, detector)
    samples = found.samples[~inside(found.samples, quality.unreadable)]
    return samples, doubtful_stretches(found.doubtful, len(ecg.signal), ecg.fs)


def _classified(samples, proba, quality: SignalQuality, noisy) -> ClassifiedBeats:
    labels = np.array(AAMI_CLASSES)[proba.argmax(axis=1)] if len(samples) else np.array([], "<U1")
    return ClassifiedBeats(samples, labels, proba, quality.unreadable, noisy)


def classified_beats(
    ecg: EcgRecord,
    model: ModelHandle,
    detector: QrsDetector | None,
    quality: SignalQuality,
    reference: Beats | None = None,
) -> ClassifiedBeats:
    """Beats from `detector` (or `reference`) outside the unreadable stretches, classified."""
    samples, noisy = _found_beats(ecg, detector, quality, reference)
    return _classified(samples, classify_beats(ecg, samples, model), quality, noisy)


def classified_records(
    records: Sequence[tuple[EcgRecord, SignalQuality, Beats | None]],
    model: ModelHandle,
    detector: QrsDetector | None,
) -> list[ClassifiedBeats]:
    """:func:`classified_beats` of many (short) records (each with its reference beats, or
    None for the detector's), their beats classified together."""
    found = [_found_beats(ecg, detector, quality, ref) for ecg, quality, ref in records]
    probas = classify_records(
        [(ecg, samples) for (ecg, _, _), (samples, _) in zip(records, found, strict=True)], model
    )
    return [
        _classified(samples, proba, quality, noisy)
        for (_, quality, _), (samples, noisy), proba in zip(records, found, probas, strict=True)
    ]


def diagnose(
    ecg: EcgRecord,
    model: ModelHandle,
    detector: QrsDetector | None,
    *,
    reference: Beats | None = None,
    beats_from: str = "detector",
    quality: SignalQuality | None = None,
) -> Diagnosis:
    """Beats from `detector` (or `reference`), their classes and the rhythm episodes.
    `ecg` has its primary lead first; `quality` is its signal quality where already judged.

    No beats are reported where the signal is unreadable; where the detector doubts many
    candidates (noise), beats are kept but labelled Q: their class cannot be trusted."""
    if quality is None:
        quality = assess_quality(ecg.signal, ecg.fs)
    beats = classified_beats(ecg, model, detector, quality, reference)
    return diagnosis_of_beats(ecg, beats, model, beats_from, from_reference=reference is not None)


def diagnosis_of_beats(
    ecg: EcgRecord,
    beats: ClassifiedBeats,
    model: ModelHandle,
    beats_from: str = "detector",
    from_reference: bool = False,
) -> Diagnosis:
    """The diagnosis of a record whose beats are found and classified already: the rhythm
    episodes (with `model`'s learnt strip AF and ventricular calls), then the labels they
    imply; beats in flutter are dropped unless they are reference beats."""
    samples, labels, proba = beats.samples, beats.labels, beats.proba
    unreadable, noisy = beats.unreadable, beats.noisy
    # The network's labels drive the rhythm rules (noisy stretches override what they find
    # there, flutter excepted); the report then calls the beats in noisy stretches Q.
    episodes = find_episodes(
        samples,
        labels,
        ecg.fs,
        ecg.signal,
        len(ecg.signal),
        unreadable,
        noisy=noisy,
        proba=proba,
        strip_af=model.strip_af,
        ventricular=model.ventricular,
    )
    labels, proba = no_premature_in_fibrillation(samples, labels, proba, episodes)
    labels = np.where(inside(samples, noisy), "Q", labels)  # a copy: `beats` stays as given
    unreadable = [(e.start, e.end) for e in episodes if e.rhythm == "NOISE"]
    flutter = [(e.start, e.end) for e in episodes if e.rhythm in NO_BEATS_IN]
    if not from_reference:
        keep = ~inside(samples, flutter)
        samples, labels, proba = samples[keep], labels[keep], proba[keep]
    no_beats = union(unreadable, flutter)
    pauses = [  # a gap over an unreadable or flutter stretch is not a pause
        (a, b)
        for a, b in find_pauses(samples, ecg.fs)
        if not any(start < b and end > a for start, end in no_beats)
    ]
    return Diagnosis(
        record=ecg.name,
        fs=ecg.fs,
        leads=ecg.leads,
        n_samples=len(ecg.signal),
        samples=samples,
        labels=labels,
        proba=proba,
        episodes=episodes,
        unreadable=unreadable,
        pauses=pauses,
        beats_from=beats_from,
    )
