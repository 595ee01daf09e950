"""Zero-phase noise removal: baseline wander, power-line interference and high-frequency noise."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal as sps


@lru_cache(maxsize=64)
def bandpass_sos(order: int, low_hz: float, high_hz: float, fs: float) -> np.ndarray:
    """Butterworth band-pass second-order sections, designed once per setting and rate
    (the design costs more than filtering a 30-second strip). Shared between callers:
    never modify it (scipy's filters need it writable, so it cannot be made read-only)."""
    return sps.butter(order, [low_hz, high_hz], btype="bandpass", fs=fs, output="sos")


@lru_cache(maxsize=16)
def _notch(frequency_hz: float, quality: float, fs: float) -> tuple[np.ndarray, np.ndarray]:
    return sps.iirnotch(frequency_hz, quality, fs=fs)


def remove_noise(
    ecg: np.ndarray,
    fs: float,
    *,
    highpass_hz: float,
    lowpass_hz: float,
    powerline_hz: float,
    notch_quality: float,
    order: int,
) -> np.ndarray:
    """Band-pass then notch each lead, forward and backward so that QRS timing is not shifted.

    `ecg` is (n_samples,) or (n_samples, n_leads); the result has the same shape, float64.
    """
    if lowpass_hz >= fs / 2:
        raise ValueError(f"lowpass_hz {lowpass_hz} must be below Nyquist ({fs / 2} Hz)")
    x = np.asarray(ecg, dtype=np.float64)
    y = sps.sosfiltfilt(bandpass_sos(order, highpass_hz, lowpass_hz, fs), x, axis=0)
    # The band-pass already attenuates mains above lowpass_hz; the notch also covers a
    # lowpass_hz set above the mains frequency.
    if powerline_hz < fs / 2:
        y = sps.filtfilt(*_notch(powerline_hz, notch_quality, fs), y, axis=0)
    return y


def normalise_amplitude(ecg: np.ndarray, beat_samples: np.ndarray, fs: float) -> np.ndarray:
    """Scale each lead so its median QRS peak-to-peak amplitude is 1.

    Using QRS amplitude, not the standard deviation, keeps the scale independent of how
    much of the record is noise or baseline. Without beats, falls back to a robust spread.
    """
    x = np.atleast_2d(np.asarray(ecg, dtype=np.float64).T).T
    half = max(1, int(round(0.06 * fs)))
    scale = np.empty(x.shape[1])
    for lead in range(x.shape[1]):
        column = x[:, lead]
        amplitudes = [
            np.ptp(column[max(0, s - half) : s + half + 1])
            for s in beat_samples
            if 0 <= s < len(column)
        ]
        if amplitudes:
            scale[lead] = np.median(amplitudes)
        else:
            scale[lead] = 4.0 * 1.4826 * np.median(np.abs(column - np.median(column)))
    scale[~np.isfinite(scale) | (scale <= 1e-6)] = 1.0
    return (x / scale).reshape(np.shape(ecg))
