"""Resampling a record to the model's sampling rate."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
from scipy import signal as sps

from arrhythmia.signal.ecg import EcgRecord


def resample_record(record: EcgRecord, target_fs: float) -> EcgRecord:
    """Polyphase resampling (anti-aliased) to `target_fs`; a no-op at the same rate."""
    if abs(record.fs - target_fs) < 1e-9:
        return record
    ratio = Fraction(target_fs / record.fs).limit_denominator(1000)
    resampled = sps.resample_poly(record.signal, ratio.numerator, ratio.denominator, axis=0)
    return replace(record, signal=resampled, fs=float(target_fs))


def resample_positions(
    samples: np.ndarray, fs: float, target_fs: float, n_target: int
) -> np.ndarray:
    """Beat sample indices at the new rate, kept inside the resampled signal."""
    moved = np.round(np.asarray(samples, dtype=np.float64) * target_fs / fs).astype(np.int64)
    return np.clip(moved, 0, n_target - 1)
