"""Which stretches of a record cannot be read: every lead flat, disconnected, clipped at
the ADC's limits or pure noise. Beats are not looked for there, and the report says how
long they last instead of guessing a rhythm."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOW_S = 2.0  # judged window by window
MIN_SPREAD = 0.02  # below this spread (robust, in the signal's units: mV) a lead is flat
CLIP_FRACTION = 0.2  # more of a window than this at the lead's extreme values: clipped
NOISE_HF_FRACTION = 0.5  # more of a window's power than this above 40 Hz: noise, not ECG
BLOCK_WINDOWS = 900  # windows judged at once (30 min)


@dataclass(frozen=True)
class SignalQuality:
    unreadable: list[tuple[int, int]]  # sample intervals, end exclusive, sorted, disjoint
    window: int  # samples per judged window

    def seconds(self, fs: float) -> float:
        return float(sum(end - start for start, end in self.unreadable) / fs)

    def mask(self, samples: np.ndarray) -> np.ndarray:
        """True for the sample positions that fall in an unreadable stretch."""
        inside = np.zeros(len(samples), dtype=bool)
        for start, end in self.unreadable:
            inside |= (samples >= start) & (samples < end)
        return inside


def _windows(x: np.ndarray, window: int) -> np.ndarray:
    """(n_windows, window) view of x, the last partial window padded with its last value."""
    n = -(-len(x) // window)
    padded = np.pad(x, (0, n * window - len(x)), mode="edge")
    return padded.reshape(n, window)


def _lead_unusable(x: np.ndarray, fs: float, window: int, clip_levels: tuple[float, float]):
    """Per window: flat, clipped or noise-only (one lead)."""
    w = _windows(x, window)
    spread = np.percentile(w, 90, axis=1) - np.percentile(w, 10, axis=1)
    low, high = clip_levels
    at_limit = ((w <= low) | (w >= high)).mean(axis=1)
    clipped = (at_limit > CLIP_FRACTION) & (high > low)
    if fs > 100:
        spectrum = np.abs(np.fft.rfft(w - w.mean(axis=1, keepdims=True), axis=1)) ** 2
        freqs = np.fft.rfftfreq(window, 1 / fs)
        total = spectrum[:, freqs >= 0.5].sum(axis=1) + 1e-12
        noisy = spectrum[:, freqs >= 40].sum(axis=1) / total > NOISE_HF_FRACTION
    else:  # too slow a rate to tell noise from QRS by frequency
        noisy = np.zeros(len(w), dtype=bool)
    return (spread < MIN_SPREAD) | clipped | noisy


def assess_quality(signal: np.ndarray, fs: float, adc_limits=None) -> SignalQuality:
    """Unreadable stretches of `signal` (n_samples, n_leads): windows where no lead is
    usable. `adc_limits` gives each lead's (min, max) physical value when the format knows
    it; otherwise a lead's own extremes are taken, which only matter where it sits on them
    for a large part of a window. Judged BLOCK_WINDOWS windows at a time: bounded memory."""
    signal = np.atleast_2d(np.asarray(signal).T).T
    window = max(1, int(round(WINDOW_S * fs)))
    limits = []
    for lead in range(signal.shape[1]):
        if adc_limits is not None:
            limits.append(adc_limits[lead])
        else:
            limits.append((float(np.nanmin(signal[:, lead], initial=0.0)),
                           float(np.nanmax(signal[:, lead], initial=0.0))))  # fmt: skip
    usable = []
    step = window * BLOCK_WINDOWS
    for start in range(0, len(signal), step):
        block = signal[start : start + step]
        ok = np.zeros(-(-len(block) // window), dtype=bool)
        for lead in range(signal.shape[1]):
            x = np.asarray(block[:, lead], dtype=np.float64)
            finite = np.isfinite(x)
            x = np.where(finite, x, 0.0)
            bad = _lead_unusable(x, fs, window, limits[lead])
            ok |= ~(bad | (_windows(~finite, window).mean(axis=1) > 0.5))
        usable.append(ok)
    unreadable: list[tuple[int, int]] = []
    if usable:
        for k in np.flatnonzero(~np.concatenate(usable)):
            start, end = int(k * window), int(min(len(signal), (k + 1) * window))
            if unreadable and unreadable[-1][1] == start:
                unreadable[-1] = (unreadable[-1][0], end)
            else:
                unreadable.append((start, end))
    return SignalQuality(unreadable=unreadable, window=window)
