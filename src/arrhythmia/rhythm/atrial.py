"""What the atria did, as far as beats and the signal tell: which RR intervals speak of
the atria, and whether consecutive beats, or successive normal beats, share a P wave."""

from __future__ import annotations

import numpy as np

ECTOPIC_OR_UNKNOWN = ("V", "F", "Q")  # beats whose adjacent RR intervals say nothing of atria
# Beats whose P wave is not the sinus node's (an atrial ectopic beat has its own, or none)
NOT_SINUS_P_WAVE = ("S", *ECTOPIC_OR_UNKNOWN)
P_WINDOW_S = (0.25, 0.07)  # before the R peak: from and to where a P wave lies


def clean_intervals(labels: np.ndarray) -> np.ndarray:
    """RR intervals whose both beats are supraventricular or normal (S beats count: in AF the
    beats labelled S are conducted beats)."""
    ectopic = np.isin(labels, ECTOPIC_OR_UNKNOWN)
    return ~(ectopic[:-1] | ectopic[1:])


def p_wave_similarity(
    signal: np.ndarray,
    fs: float,
    samples: np.ndarray,
    clean: np.ndarray,
    window_s: tuple[float, float] = P_WINDOW_S,
) -> np.ndarray:
    """Per beat: the correlation of its pre-QRS segment (from R - window_s[0] to R -
    window_s[1]) with the previous beat's, NaN for the first beat and where the interval
    between them is not clean."""
    lead = signal[:, 0] if np.ndim(signal) == 2 else signal  # a view: no copy of the record
    far, near = window_s
    stride = max(1, int(fs // 180))  # 180 Hz is plenty for P waves
    offsets = np.arange(-int(far * fs), -int(near * fs), stride)
    segments = lead[np.clip(samples[:, None] + offsets, 0, len(lead) - 1)].astype(float)
    segments = np.nan_to_num(segments)
    # Remove each segment's linear trend (baseline wander) instead of filtering the record.
    t = offsets - offsets.mean()
    segments = segments - segments.mean(axis=1, keepdims=True)
    segments -= np.outer(segments @ t / (t @ t), t)
    segments /= np.linalg.norm(segments, axis=1, keepdims=True) + 1e-12
    similarity = np.full(len(samples), np.nan)
    similarity[1:] = np.einsum("ij,ij->i", segments[1:], segments[:-1])
    similarity[1:][~clean] = np.nan
    return similarity


def normal_beats(labels: np.ndarray) -> np.ndarray:
    """Indices of the beats that carry the sinus node's P wave: the normal (N) ones."""
    return np.flatnonzero(~np.isin(labels, NOT_SINUS_P_WAVE))


def sinus_p_wave_similarity(
    signal: np.ndarray,
    fs: float,
    samples: np.ndarray,
    labels: np.ndarray,
    window_s: tuple[float, float] = P_WINDOW_S,
) -> np.ndarray:
    """Per beat: the correlation of its pre-QRS segment with the previous normal (N) beat's,
    skipping the S, V, F and Q beats between them; NaN for those and the first normal beat.
    Frequent atrial premature beats each bring their own P wave, so beside neighbours they
    hide the sinus P waves that say it is not AF; compared with each other, those stay alike."""
    normal = normal_beats(labels)
    similarity = np.full(len(samples), np.nan)
    if len(normal) > 1:
        adjacent = np.ones(len(normal) - 1, dtype=bool)
        similarity[normal] = p_wave_similarity(signal, fs, samples[normal], adjacent, window_s)
    return similarity
