"""Where on the QRS a detected beat is placed. The candidate detector marks the peak of its
own filtered signal, which on wide ventricular beats falls about 40 ms before the R peak
that MITDB's annotators (and so the beat classifier's training windows) use. Moving each
beat to the largest deflection of the primary lead nearby puts it where they do: on DS1,
beats more than 8 samples (22 ms) from their annotation fall from 5.5 % to 2.3 % (N) and
from 30.1 % to 8.6 % (V) with the band and reach below, chosen on DS1 among 0.05-0.1 s and
0.5-40 Hz variants (`python benchmarks/detector_choices.py` prints these)."""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from arrhythmia.signal.filters import bandpass_sos

REACH_S = 0.08  # how far a beat may move
MIN_RR_S = 0.12  # closer beats are one QRS found twice (no heart beats 500 times a minute)
BAND_HZ = (3.0, 30.0)  # the QRS without baseline or mains; a wide V beat's peak survives


def refine_to_peak(lead: np.ndarray, fs: float, samples: np.ndarray) -> np.ndarray:
    """Each beat moved to the largest |band-passed `lead`| within REACH_S; sorted, and beats
    that land within MIN_RR_S of each other are one."""
    samples = np.asarray(samples, dtype=np.int64)
    if len(samples) == 0:
        return samples
    high = min(BAND_HZ[1], 0.45 * fs)
    sos = bandpass_sos(2, BAND_HZ[0], high, fs)
    filtered = np.abs(sps.sosfiltfilt(sos, np.asarray(lead, dtype=np.float64)))
    reach = max(1, int(REACH_S * fs))
    index = np.clip(samples[:, None] + np.arange(-reach, reach + 1), 0, len(filtered) - 1)
    moved = index[np.arange(len(samples)), np.argmax(filtered[index], axis=1)]
    return merge_close(np.unique(moved), int(MIN_RR_S * fs))


def merge_close(samples: np.ndarray, min_gap: int) -> np.ndarray:
    """Sorted beats with any beat closer than `min_gap` to the last one kept dropped."""
    if len(samples) < 2 or np.diff(samples).min() >= min_gap:
        return samples
    kept = [samples[0]]
    for s in samples[1:].tolist():
        if s - kept[-1] >= min_gap:
            kept.append(s)
    return np.asarray(kept, dtype=np.int64)
