"""Recording noise added to clean training records, so the candidate classifier learns what
beats look like in noise. DS1 has little noise (105 and 203 aside) and DS2 barely more, so
trees fitted on the clean records alone keep noise candidates that look like beats.

The noise is synthetic, not a recording: electrode motion (1/f, 0.5-15 Hz) mixed with
muscle noise (white, 15-80 Hz), in NSTDB's protocol (a clean first 5 minutes, then
2-minute noisy and clean periods alternately). Its level sets the signal-to-noise ratio
per lead, the signal treated as a sinusoid of the median QRS peak-to-peak amplitude
(S = pp^2 / 8) and the noise by its mean square. NSTDB's real noise recordings are not
used: they are the test."""

from __future__ import annotations

import numpy as np

CLEAN_START_S = 300.0  # NSTDB: a noise-free learning period
PERIOD_S = 120.0  # then noisy and clean periods alternately
MOTION_BAND_HZ = (0.5, 15.0)  # electrode motion: baseline shifts and QRS-like transients
MUSCLE_BAND_HZ = (15.0, 80.0)
MOTION_SHARE = 0.7  # of the noise power
QRS_HALF_S = 0.05  # where a beat's peak-to-peak amplitude is measured


def band_noise(n: int, fs: float, band: tuple[float, float], slope: float, rng) -> np.ndarray:
    """Unit-variance Gaussian noise whose amplitude spectrum falls as f**-slope in band."""
    freqs = np.fft.rfftfreq(n, 1.0 / fs)
    inside = (freqs >= band[0]) & (freqs <= min(band[1], fs / 2))
    shape = np.where(inside, np.maximum(freqs, band[0]) ** -slope, 0.0)
    spectrum = shape * (rng.standard_normal(len(freqs)) + 1j * rng.standard_normal(len(freqs)))
    x = np.fft.irfft(spectrum, n)
    return x / (x.std() + 1e-12)


def qrs_peak_to_peak(lead: np.ndarray, fs: float, beats: np.ndarray) -> float:
    """Median peak-to-peak amplitude of `lead` within QRS_HALF_S of each beat."""
    half = max(1, int(QRS_HALF_S * fs))
    beats = beats[(beats >= half) & (beats < len(lead) - half)]
    if len(beats) == 0:
        return 0.0
    windows = lead[beats[:, None] + np.arange(-half, half + 1)]
    return float(np.median(windows.max(axis=1) - windows.min(axis=1)))


def motion_and_muscle(
    n: int, fs: float, muscle_band: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    """(n,) electrode motion (1/f) and white muscle noise in `muscle_band`, MOTION_SHARE of
    the power the motion's. Not normalised: callers scale it."""
    motion = band_noise(n, fs, MOTION_BAND_HZ, 1.0, rng)
    muscle = band_noise(n, fs, muscle_band, 0.0, rng)
    return np.sqrt(MOTION_SHARE) * motion + np.sqrt(1 - MOTION_SHARE) * muscle


def noisy_periods(n: int, fs: float) -> np.ndarray:
    """(n,) bool: where NSTDB's protocol adds noise."""
    t = np.arange(n) / fs - CLEAN_START_S
    return (t >= 0) & ((t // PERIOD_S) % 2 == 0)


def add_noise(
    signal: np.ndarray, fs: float, beats: np.ndarray, snr_db: float, rng: np.random.Generator
) -> np.ndarray:
    """`signal` (n_samples, n_leads) with noise at `snr_db` in the noisy periods, float32."""
    signal = np.asarray(signal, dtype=np.float64)
    n = len(signal)
    on = noisy_periods(n, fs)
    out = signal.copy()
    for lead in range(signal.shape[1]):
        noise_rms = qrs_peak_to_peak(signal[:, lead], fs, beats) / np.sqrt(8) * 10 ** (-snr_db / 20)
        mix = motion_and_muscle(n, fs, MUSCLE_BAND_HZ, rng)
        out[on, lead] += noise_rms * mix[on] / (mix.std() + 1e-12)
    return out.astype(np.float32)


def ecg_noise_bank(
    rows: int, length: int, fs: float, lowpass_hz: float, rng: np.random.Generator
) -> np.ndarray:
    """(rows, length) float32 of unit-RMS noise, the electrode-motion and muscle mix of
    :func:`add_noise` below `lowpass_hz` (what the beat windows keep), cut from one series
    so that each row has the motion noise's slow drift."""
    n = rows * length
    muscle_band = (MUSCLE_BAND_HZ[0], min(MUSCLE_BAND_HZ[1], lowpass_hz))
    mix = motion_and_muscle(n, fs, muscle_band, rng)
    return (mix / (mix.std() + 1e-12)).reshape(rows, length).astype(np.float32)
