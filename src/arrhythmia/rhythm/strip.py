"""AF in a short strip (10-65 s, a handheld or a watch ECG), where the episode detector of
a Holter record has too little time to settle: it needs 30 s of episode after its trend
converges, so a strip rarely qualifies. A strip gets one call from all its beats instead.

Irregular RR intervals between non-ventricular beats (intervals next to a V, F or Q beat say
nothing of the atria) argue for AF; premature-then-compensated pairs (the pattern of ectopic
beats, not of AF), consecutive beats whose P-wave segments stay alike (atrial activity) and
an unreadable strip argue against it. The thresholds of :class:`StripParams` were chosen on
the CinC 2017 strips in ``../shared`` (``benchmarks/strip_af.py`` prints the choice and its
record-wise cross-validated F1). A model bundle that carries a learnt strip model
(:mod:`arrhythmia.rhythm.strip_model`) makes the call with it instead; the thresholds stay
the fallback for bundles without one.

A long record's AF, found by the episode detector, is confirmed by the same learnt call on
windows of about a strip's length (:func:`confirmed_af_spans`): irregular RR intervals from
frequent atrial ectopic beats pass the detector but not the call, which also reads the beat
classes, the P waves and the ectopic pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arrhythmia.rhythm.atrial import clean_intervals, p_wave_similarity
from arrhythmia.rhythm.strip_features import strip_feature_vector
from arrhythmia.rhythm.strip_model import StripAfModel

STRIP_MAX_S = 65.0  # up to this long a recording is a strip (CinC 2017: 9-61 s)


@dataclass(frozen=True)
class StripParams:
    min_intervals: int = 6  # fewer clean RR intervals: too few beats to call AF
    af_min_irregularity: float = 0.056  # CinC 2017
    af_max_p_similarity: float = 0.5  # CinC 2017
    af_max_ectopic_pairs: float = 0.2  # CinC 2017
    af_max_unreadable: float = 0.2  # CinC 2017: share of the strip


@dataclass(frozen=True)
class StripFeatures:
    n_intervals: int  # clean RR intervals
    irregularity: float  # median |successive difference| / median RR over clean pairs
    ectopic_pairs: float  # share of clean pairs that are short (< 0.85 median), then long
    p_similarity: float  # median similarity of consecutive beats' P-wave segments
    unreadable: float  # share of the strip that is unreadable


def strip_features(
    samples: np.ndarray,
    labels: np.ndarray,
    fs: float,
    signal: np.ndarray,
    unreadable_samples: int = 0,
) -> StripFeatures | None:
    """The strip's features, or None where no two successive clean RR intervals exist."""
    samples = np.asarray(samples, dtype=np.int64)
    if len(samples) < 3:
        return None
    rr = np.diff(samples) / fs
    clean = clean_intervals(np.asarray(labels))
    pairs = clean[:-1] & clean[1:]
    if not pairs.any():
        return None
    median = float(np.median(rr[clean]))
    successive = np.abs(np.diff(rr))[pairs]
    short_then_long = (rr[:-1] < 0.85 * median) & (rr[1:] > 1.1 * median)
    similarity = p_wave_similarity(signal, fs, samples, clean)
    similarity = similarity[np.isfinite(similarity)]
    return StripFeatures(
        n_intervals=int(clean.sum()),
        irregularity=float(np.median(successive) / median),
        ectopic_pairs=float(short_then_long[pairs].mean()),
        p_similarity=float(np.median(similarity)) if len(similarity) else 0.0,
        unreadable=unreadable_samples / max(len(signal), 1),
    )


def is_atrial_fibrillation(features: StripFeatures | None, params: StripParams) -> bool:
    return (
        is_readable_strip(features, params)
        and features.irregularity > params.af_min_irregularity
        and features.p_similarity < params.af_max_p_similarity
        and features.ectopic_pairs < params.af_max_ectopic_pairs
    )


def learnt_call_inputs(
    samples: np.ndarray,
    labels: np.ndarray,
    proba: np.ndarray,
    fs: float,
    signal: np.ndarray,
    unreadable: list[tuple[int, int]],
    params: StripParams = StripParams(),
) -> tuple[np.ndarray, bool]:
    """The row the learnt model reads of a strip, and whether the strip may be called AF at
    all (:func:`is_readable_strip`). The train stage fits on the same rows."""
    lead = signal[:, 0] if np.ndim(signal) == 2 else signal
    lost = sum(end - start for start, end in unreadable)
    readable = is_readable_strip(strip_features(samples, labels, fs, signal, lost), params)
    return strip_feature_vector(samples, labels, proba, fs, lead, lost), readable


def is_readable_strip(features: StripFeatures | None, params: StripParams) -> bool:
    """Enough clean RR intervals and little unreadable time: else no AF call is made."""
    return (
        features is not None
        and features.n_intervals >= params.min_intervals
        and features.unreadable < params.af_max_unreadable
    )


def strip_af_spans(
    samples: np.ndarray,
    labels: np.ndarray,
    fs: float,
    signal: np.ndarray,
    unreadable: list[tuple[int, int]],
    params: StripParams = StripParams(),
    *,
    proba: np.ndarray | None = None,
    model: StripAfModel | None = None,
) -> np.ndarray:
    """(1, 2) span from the first to the last beat where the strip is AF, else (0, 2).

    With a learnt `model` (and the beats' class probabilities) its trees make the call; the
    thresholds of `params` make it otherwise. Either way a strip with too few clean RR
    intervals or too much unreadable time is never AF."""
    if model is not None and proba is not None:
        row, readable = learnt_call_inputs(samples, labels, proba, fs, signal, unreadable, params)
        af = readable and model.is_af(row)
    else:
        lost = sum(end - start for start, end in unreadable)
        af = is_atrial_fibrillation(strip_features(samples, labels, fs, signal, lost), params)
    if not af:
        return np.empty((0, 2), dtype=np.int64)
    return np.array([[samples[0], samples[-1] + 1]], dtype=np.int64)


def confirmed_af_spans(
    spans: np.ndarray,
    samples: np.ndarray,
    labels: np.ndarray,
    proba: np.ndarray,
    fs: float,
    signal: np.ndarray,
    unreadable: list[tuple[int, int]],
    *,
    model: StripAfModel,
    window_s: float,
) -> np.ndarray:
    """The windows of a long record's AF `spans` that the learnt strip call confirms.

    Each span is cut into equal windows of `window_s` to twice that (a span shorter than
    `window_s` is one window); a window stays AF where its beats and signal, read as a
    strip, are called AF. A window the call may not judge (:func:`is_readable_strip`) is
    not AF. Kept windows that follow each other touch."""
    kept = []
    for start, end in np.asarray(spans, dtype=np.int64).reshape(-1, 2):
        n_windows = max(1, int((end - start) // (window_s * fs)))
        edges = np.linspace(start, end, n_windows + 1).round().astype(np.int64)
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            inside = (samples >= a) & (samples < b)
            row, readable = learnt_call_inputs(
                samples[inside] - a,
                labels[inside],
                proba[inside],
                fs,
                signal[a:b],
                _clipped(unreadable, a, b),
            )
            if readable and model.is_af(row):
                kept.append((a, b))
    return np.array(kept, dtype=np.int64).reshape(-1, 2)


def _clipped(stretches: list[tuple[int, int]], a: int, b: int) -> list[tuple[int, int]]:
    """The parts of `stretches` inside [a, b), counted from a."""
    return [(max(x, a) - a, min(y, b) - a) for x, y in stretches if x < b and y > a]
