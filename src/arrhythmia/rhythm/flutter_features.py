"""Features of the signal in short overlapping windows, read by the ventricular flutter /
fibrillation and monomorphic VT rules (:mod:`arrhythmia.rhythm.episodes`) and by the learnt
presence call (:mod:`arrhythmia.rhythm.ventricular`): per lead, the dominant frequency, the
spectral concentration around it, the threshold-crossing share (TCSC), the amplitude, and
the cycles' similarity and amplitude variation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal as sps

from arrhythmia.signal.filters import bandpass_sos

if TYPE_CHECKING:
    from arrhythmia.rhythm.episodes import RhythmParams


def _flutter_windows(signal: np.ndarray, fs: float, params: RhythmParams):
    """The windows every flutter feature is computed on: (start of each window in samples at
    ``fs``, the window length and rate of the decimated copy, and a function giving one
    lead's (n_windows, length) band-passed windows, views of one decimated copy)."""
    signal = np.asarray(signal)  # any float dtype; only decimated copies are made below
    if signal.ndim == 1:
        signal = signal[:, None]
    factor = max(1, int(round(fs / params.vfl_rate_hz)))
    rate = fs / factor
    win, step = int(round(params.vfl_window_s * rate)), int(round(params.vfl_step_s * rate))
    n_low = signal.shape[0] // factor
    n_win = 0 if n_low < win else (n_low - win) // step + 1
    sos = bandpass_sos(2, 1.0, min(25.0, 0.45 * rate), rate)

    def lead_windows(lead: int) -> np.ndarray:
        # Block means are a cheap anti-alias filter; reshaping a column is a view, not a copy.
        low = signal[: n_low * factor, lead].reshape(n_low, factor).mean(axis=1, dtype=float)
        # A stray NaN would spread over the whole lead through the filter. In place: `low`
        # is this function's own array, and a day's copy would add to the memory peak.
        low = sps.sosfiltfilt(sos, np.nan_to_num(low, copy=False))
        return sliding_window_view(low, win)[::step][:n_win]

    starts = np.arange(n_win, dtype=np.int64) * step * factor
    return starts, win, rate, lead_windows


def vfl_window_features(signal: np.ndarray, fs: float, params: RhythmParams) -> dict:
    """Per-window features of each lead on a decimated signal: window start (samples at
    ``fs``), dominant frequency, spectral concentration, threshold-crossing share, std."""
    starts, win, rate, lead_windows = _flutter_windows(signal, fs, params)
    n_leads = 1 if np.ndim(signal) == 1 else np.shape(signal)[1]
    out = {k: np.zeros((len(starts), n_leads)) for k in ("peak_hz", "concentration", "tcsc", "std")}
    out["start"] = starts
    if len(starts) == 0 or n_leads == 0:
        return out
    freqs = np.fft.rfftfreq(win, 1.0 / rate)
    in_band = (freqs >= 1.0) & (freqs <= 25.0)
    search = (freqs >= params.vfl_band_hz[0]) & (freqs <= params.vfl_band_hz[1])
    taper = np.hanning(win)
    for lead in range(n_leads):
        windows = lead_windows(lead)
        for block in range(0, len(starts), 4096):  # bounded memory on 24-hour records
            x = windows[block : block + 4096]
            x = x - x.mean(axis=1, keepdims=True)
            power = np.abs(np.fft.rfft(x * taper, axis=1)) ** 2
            peak = np.argmax(np.where(search, power, -1.0), axis=1)
            near = np.abs(freqs[None, :] - freqs[peak][:, None]) <= 1.0
            total = power[:, in_band].sum(axis=1) + 1e-12
            rows = slice(block, block + len(x))
            out["peak_hz"][rows, lead] = freqs[peak]
            out["concentration"][rows, lead] = (power * near).sum(axis=1) / total
            magnitude = np.abs(x)
            out["tcsc"][rows, lead] = (magnitude > 0.2 * magnitude.max(axis=1, keepdims=True)).mean(
                axis=1
            )
            out["std"][rows, lead] = x.std(axis=1)
    return out


def vt_window_features(
    signal: np.ndarray, fs: float, params: RhythmParams, rows: np.ndarray, peak_hz: np.ndarray
) -> dict:
    """Of the windows `rows` (indices into :func:`vfl_window_features`' windows, whose
    per-lead dominant frequencies are `peak_hz`), each lead's cycle-to-cycle similarity and
    the variation of the cycles' amplitude. The costly features: the rules compute them for
    their flutter windows only, the learnt VT/VF presence for every window."""
    starts, win, rate, lead_windows = _flutter_windows(signal, fs, params)
    out = {k: np.zeros(peak_hz.shape) for k in ("cycle_similarity", "amplitude_cv")}
    lags = np.arange(win) / rate
    half_second = max(1, int(round(0.5 * rate)))
    for lead in range(peak_hz.shape[1]):
        windows = lead_windows(lead)
        for block in range(0, len(rows), 4096):  # bounded memory on 24-hour records
            picked = slice(block, block + 4096)
            x = windows[rows[picked]]
            x = x - x.mean(axis=1, keepdims=True)
            period_s = 1.0 / peak_hz[picked, lead]
            out["cycle_similarity"][picked, lead] = _cycle_similarity(x, period_s, lags)
            out["amplitude_cv"][picked, lead] = _amplitude_cv(x, half_second)
    return out


def _cycle_similarity(x: np.ndarray, period_s: np.ndarray, lags_s: np.ndarray) -> np.ndarray:
    """Each row's highest autocorrelation (1 at lag 0) between 0.7 and 1.3 periods: how much
    a cycle looks like the one before it. Unbiased (each lag divided by its overlap), so a
    periodic wave scores near 1 whatever its rate."""
    n = x.shape[1]
    acf = np.fft.irfft(np.abs(np.fft.rfft(x, 2 * n, axis=1)) ** 2, axis=1)[:, :n]
    acf = acf / (acf[:, :1] + 1e-12) * (n / (n - np.arange(n)))[None, :]
    near = np.abs(lags_s[None, :] / period_s[:, None] - 1.0) <= 0.3
    return np.where(near, acf, -1.0).max(axis=1)


def _amplitude_cv(x: np.ndarray, step: int) -> np.ndarray:
    """Coefficient of variation of each row's peak-to-peak amplitude over `step`-sample pieces."""
    pieces = x[:, : (x.shape[1] // step) * step].reshape(len(x), -1, step)
    swing = pieces.max(axis=2) - pieces.min(axis=2)
    return swing.std(axis=1) / (swing.mean(axis=1) + 1e-12)
