"""Which stretches of a record cannot be read: every lead flat, disconnected, clipped at
the ADC's limits or pure noise (from the signal alone), or so noisy that the beat detector
is in doubt about many of its candidates. The report says how long they last instead of
guessing a rhythm there."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

WINDOW_S = 2.0  # judged window by window
MIN_SPREAD = 0.02  # below this spread (robust, in the signal's units: mV) a lead is flat
CLIP_FRACTION = 0.2  # more of a window than this at the lead's extreme values: clipped
NOISE_HF_FRACTION = 0.5  # more of a window's power than this above 40 Hz: noise, not ECG
BLOCK_WINDOWS = 900  # windows judged at once (30 min)
DOUBT_WINDOW_S = 10.0  # noisy: at least MAX_DOUBTFUL doubtful beat candidates in this window
MAX_DOUBTFUL = 8  # DS1: such windows are 2.2 % of the time and hold 63 % of extra detections
# A window touching a noisy one is noisy too from this many doubtful candidates: chosen on
# the development records, NSTDB's noisy DS1 copies among them (benchmarks/noise_gate.py)
NEAR_DOUBTFUL = 3


@dataclass(frozen=True)
class SignalQuality:
    unreadable: list[tuple[int, int]]  # sample intervals, end exclusive, sorted, disjoint
    # (n_windows, n_leads): True where that lead can be read (the leads in the signal's order)
    lead_usable: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    window: int = 1  # samples per judged window; the last one may be shorter
    n_samples: int = 0

    def mask(self, samples: np.ndarray) -> np.ndarray:
        """True for the sample positions that fall in an unreadable stretch."""
        return inside(samples, self.unreadable)

    def readable_shares(self) -> list[float]:
        """Per lead, the share of the record's time it can be read (0.0: dead throughout)."""
        if self.n_samples == 0:
            return [0.0] * self.lead_usable.shape[1]
        sizes = np.full(len(self.lead_usable), self.window, dtype=np.int64)
        if len(sizes):
            sizes[-1] = self.n_samples - self.window * (len(sizes) - 1)
        unusable = sizes @ ~self.lead_usable
        return [1.0 - int(bad) / self.n_samples for bad in unusable]


def covered_before(spans: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Total length of the sorted, disjoint (n, 2) ``spans`` that lies before each time
    ``t``: the covered length of [a, b) is ``covered_before(b) - covered_before(a)``, with
    no per-sample array (24-hour records)."""
    if len(spans) == 0:
        return np.zeros(np.shape(t), dtype=np.int64)
    cumulative = np.concatenate([[0], np.cumsum(spans[:, 1] - spans[:, 0])])
    k = np.searchsorted(spans[:, 0], t, side="right")
    tail = np.where(k > 0, np.clip(spans[np.maximum(k - 1, 0), 1] - t, 0, None), 0)
    return cumulative[k] - tail


def inside(samples: np.ndarray, stretches: list[tuple[int, int]]) -> np.ndarray:
    """True for the samples that fall in one of the sorted, disjoint (start, end) stretches."""
    samples = np.asarray(samples, dtype=np.int64)
    if not stretches:
        return np.zeros(len(samples), dtype=bool)
    bounds = np.asarray(stretches, dtype=np.int64)
    k = np.searchsorted(bounds[:, 0], samples, side="right") - 1
    return (k >= 0) & (samples < bounds[np.maximum(k, 0), 1])


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


def assess_quality(signal: np.ndarray, fs: float) -> SignalQuality:
    """Unreadable stretches of `signal` (n_samples, n_leads): windows where no lead is
    usable; and which lead is usable in which window. A lead's clipping levels are its own
    extremes, which only matter where it sits on them for a large part of a window. Judged
    BLOCK_WINDOWS windows at a time: bounded memory."""
    signal = np.atleast_2d(np.asarray(signal).T).T
    window = max(1, int(round(WINDOW_S * fs)))
    limits = [
        (
            float(np.nanmin(signal[:, lead], initial=0.0)),
            float(np.nanmax(signal[:, lead], initial=0.0)),
        )
        for lead in range(signal.shape[1])
    ]
    usable = [np.zeros((0, signal.shape[1]), dtype=bool)]
    step = window * BLOCK_WINDOWS
    for start in range(0, len(signal), step):
        block = signal[start : start + step]
        ok = np.zeros((-(-len(block) // window), signal.shape[1]), dtype=bool)
        for lead in range(signal.shape[1]):
            x = np.asarray(block[:, lead], dtype=np.float64)
            finite = np.isfinite(x)
            x = np.where(finite, x, 0.0)
            bad = _lead_unusable(x, fs, window, limits[lead])
            ok[:, lead] = ~(bad | (_windows(~finite, window).mean(axis=1) > 0.5))
        usable.append(ok)
    lead_usable = np.concatenate(usable)
    bad = np.flatnonzero(~lead_usable.any(axis=1))
    unreadable = join_windows(bad, window, len(signal))
    return SignalQuality(unreadable, lead_usable, window, len(signal))


def doubtful_stretches(
    doubtful: np.ndarray,
    n_samples: int,
    fs: float,
    window_s: float = DOUBT_WINDOW_S,
    max_doubtful: int = MAX_DOUBTFUL,
    near_doubtful: int | None = NEAR_DOUBTFUL,
) -> list[tuple[int, int]]:
    """Windows of `window_s` with at least `max_doubtful` doubtful candidates, grown over the
    touching windows with at least `near_doubtful` (None: not grown), joined. Noise comes in
    bursts: the windows beside a noisy one that hold a few doubtful candidates are part of it."""
    window = max(1, int(round(window_s * fs)))
    n_windows = -(-n_samples // window)
    counts = np.bincount(np.asarray(doubtful, dtype=np.int64) // window, minlength=n_windows)
    noisy = counts >= max_doubtful
    if near_doubtful is not None:
        noisy = grown(noisy, counts >= near_doubtful)
    return join_windows(np.flatnonzero(noisy), window, n_samples)


def grown(seeds: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """`seeds` plus every run of consecutive `weak` windows that touches one (hysteresis)."""
    if len(seeds) == 0:
        return seeds
    either = seeds | weak
    run = np.cumsum(np.r_[True, either[1:] != either[:-1]])  # one id per run of `either`
    keep = np.zeros(run[-1] + 1, dtype=bool)
    keep[run[seeds]] = True
    return either & keep[run]


def join_windows(indices: np.ndarray, window: int, n_samples: int) -> list[tuple[int, int]]:
    """Sample intervals of the given window indices, touching ones joined."""
    stretches: list[tuple[int, int]] = []
    for k in indices:
        start, end = int(k * window), int(min(n_samples, (k + 1) * window))
        if stretches and stretches[-1][1] == start:
            stretches[-1] = (stretches[-1][0], end)
        else:
            stretches.append((start, end))
    return stretches


def union(*stretches: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint union of interval lists."""
    joined: list[tuple[int, int]] = []
    for start, end in sorted(s for group in stretches for s in group):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined
