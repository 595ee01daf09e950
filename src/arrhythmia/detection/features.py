"""What the keep-or-drop classifier sees of each QRS candidate: which leads found it; on the
primary lead and on the best other lead, its QRS-band amplitude (against the record's and
against the neighbouring beats'), its shape against the record's typical beat and against
its neighbours (a real beat's shape recurs, a noise spike's does not) and the background
level around it; and its spacing against the local beat rhythm."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy import signal as sps

from arrhythmia.detection.candidates import Candidates
from arrhythmia.signal import ragged
from arrhythmia.signal.filters import bandpass_sos

QRS_HALF_S = 0.05  # half-width where the QRS peak is looked for
SHAPE_HALF_S = 0.10  # half-width of the shape compared with the record's typical beat
LOCAL_INTERVALS = 20  # intervals between agreed candidates in the local RR median
CAP_S = 10.0  # longest spacing that counts (a record's end or a long pause)
MIN_AGREED = 10  # fewer agreed candidates than this: every candidate anchors
NEIGHBOURS = 3  # candidates each side whose shape a candidate is compared with
LOCAL_AMPLITUDE_BEATS = 17  # agreed candidates in the local amplitude median
BACKGROUND_S = 2.0  # window of the mean QRS-band level a candidate stands out from

FEATURE_NAMES: tuple[str, ...] = (
    "primary_only",
    "other_only",
    "agreed",
    "amplitude_primary",
    "amplitude_other",
    "template_corr_primary",
    "template_corr_other",
    "prev_over_rr",
    "next_over_rr",
    "prev_agreed_over_rr",
    "next_agreed_over_rr",
    "local_rr_s",
    "recurrence_primary",
    "recurrence_other",
    "local_amplitude_primary",
    "local_amplitude_other",
    "background_primary",
    "background_other",
    "candidates_within_1s",
)


def qrs_band(signal: np.ndarray, fs: float) -> np.ndarray:
    """5-25 Hz: where QRS energy is, away from baseline wander, T waves and mains hum."""
    high = min(25.0, 0.45 * fs)
    sos = bandpass_sos(2, 5.0, high, fs)
    return sps.sosfiltfilt(sos, np.asarray(signal, dtype=np.float64), axis=0)


def _windows(x: np.ndarray, centres: np.ndarray, half: int) -> np.ndarray:
    """(n, n_leads, 2*half+1) slices of x (n_samples, n_leads) around centres, clipped."""
    index = np.clip(centres[:, None] + np.arange(-half, half + 1), 0, len(x) - 1)
    return np.transpose(x[index], (0, 2, 1))


def _unit(w: np.ndarray) -> np.ndarray:
    w = w - w.mean(axis=-1, keepdims=True)
    return w / (np.linalg.norm(w, axis=-1, keepdims=True) + 1e-12)


def _primary_and_other(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The primary lead's column and the best of the others (the primary's, with one lead)."""
    others = values[:, 1:] if values.shape[1] > 1 else values
    return values[:, 0], others.max(axis=1)


def _local_median(rr: np.ndarray, at: np.ndarray, half: int) -> np.ndarray:
    """Median of the intervals rr[j - half : j + half] for each j in `at` (fewer at the
    ends), computed once per distinct j."""
    unique, inverse = np.unique(at, return_inverse=True)
    starts = np.maximum(0, unique - half)
    lengths = np.maximum(1, np.minimum(len(rr), unique + half)) - starts
    medians = ragged.median(ragged.sorted_windows(rr, starts, lengths), lengths)
    return medians[inverse]


def _spacing(pos: np.ndarray, beats: np.ndarray, k: np.ndarray, fs: float):
    """Per candidate: the spacing to the previous and next candidate and to the anchor beats
    around it (capped at CAP_S), and the local median RR of the anchor beats, in samples."""
    rr = np.diff(beats).astype(np.float64) if len(beats) > 2 else np.array([fs])
    local = _local_median(rr, k, LOCAL_INTERVALS // 2)
    cap = CAP_S * fs
    spacing = np.diff(pos).astype(np.float64)
    prev = np.minimum(np.r_[cap, spacing], cap)
    nxt = np.minimum(np.r_[spacing, cap], cap)
    to_prev = np.where(k > 0, pos - beats[np.clip(k - 1, 0, None)], cap)
    to_next = np.where(k < len(beats), beats[np.clip(k, None, len(beats) - 1)] - pos, cap)
    return prev, nxt, to_prev, to_next, local


def _recurrence(shape: np.ndarray) -> np.ndarray:
    """Per candidate and lead: the best shape correlation with its NEIGHBOURS each side
    (a beat looks like the beats around it; noise does not)."""
    recurrence = np.full(shape.shape[:-1], -1.0)
    for lag in range(1, NEIGHBOURS + 1):
        alike = (shape[:-lag] * shape[lag:]).sum(axis=-1)
        recurrence[:-lag] = np.maximum(recurrence[:-lag], alike)
        recurrence[lag:] = np.maximum(recurrence[lag:], alike)
    return recurrence


def candidate_features(signal: np.ndarray, fs: float, candidates: Candidates) -> np.ndarray:
    """(n_candidates, len(FEATURE_NAMES)) float32, finite everywhere."""
    pos, votes = candidates.sample, candidates.votes
    n = len(pos)
    if n == 0:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)
    band = qrs_band(signal, fs)
    n_votes = votes.sum(axis=1)
    agreed = n_votes >= min(2, votes.shape[1])
    primary_only = votes[:, 0] & ~agreed
    other_only = ~votes[:, 0] & ~agreed
    anchor = agreed if agreed.sum() > MIN_AGREED else np.ones(n, dtype=bool)

    raw_amplitude = np.abs(_windows(band, pos, max(1, int(QRS_HALF_S * fs)))).max(axis=-1)
    amplitude = raw_amplitude / (np.median(raw_amplitude[anchor], axis=0) + 1e-9)
    shape = _unit(_windows(band, pos, max(2, int(SHAPE_HALF_S * fs))))
    template = _unit(np.median(shape[anchor], axis=0))
    corr = (shape * template).sum(axis=-1)

    beats = pos[anchor]
    k = np.searchsorted(beats, pos)
    prev, nxt, to_prev, to_next, local = _spacing(pos, beats, k, fs)
    cap = CAP_S * fs
    recurrence = _recurrence(shape)
    local_amplitude = ndimage.median_filter(
        amplitude[anchor], size=(LOCAL_AMPLITUDE_BEATS, 1), mode="nearest"
    )
    nearest_anchor = np.clip(k, 0, len(beats) - 1)
    relative_amplitude = amplitude / (local_amplitude[nearest_anchor] + 1e-9)
    level = ndimage.uniform_filter1d(
        np.abs(band), size=max(1, int(BACKGROUND_S * fs)), axis=0, mode="nearest"
    )
    background = level[pos] / (raw_amplitude + 1e-9)
    within_1s = np.searchsorted(pos, pos + fs, side="right") - np.searchsorted(pos, pos - fs)

    features = np.column_stack(
        [
            primary_only,
            other_only,
            agreed,
            *_primary_and_other(amplitude),
            *_primary_and_other(corr),
            prev / local,
            nxt / local,
            np.minimum(to_prev, cap) / local,
            np.minimum(to_next, cap) / local,
            local / fs,
            *_primary_and_other(recurrence),
            *_primary_and_other(relative_amplitude),
            *_primary_and_other(background),
            within_1s,
        ]
    )
    return np.nan_to_num(features, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
