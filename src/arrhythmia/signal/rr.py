"""RR-interval features: timing context that separates premature beats from normal ones."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

RR_INTERVALS: tuple[str, ...] = (
    "pre_rr",
    "post_rr",
    "local_rr",
    "sinus_rr",
    "record_rr",
    "upper_rr",
    "mean_rr_5min",
    "mean_rr_60s",
)
RR_RATIOS: tuple[str, ...] = (
    "pre_over_post",
    "pre_over_local",
    "pre_over_sinus",
    "post_over_sinus",
    "pre_over_record",
    "local_over_record",
    "pre_over_upper",
    "rr_irregularity",
    "pre_over_mean_5min",
    "post_over_mean_5min",
    "pre_over_mean_60s",
    "rr_variability_20s",
)
UPPER_QUANTILE = 90
MEAN_HALF_WINDOW_S = 300.0  # de Chazal 2004: the mean RR over +/-5 min around the beat
PAST_WINDOW_S = 60.0
VARIABILITY_HALF_WINDOW_S = 10.0
RR_FEATURES: tuple[str, ...] = RR_INTERVALS + RR_RATIOS


def _trailing(values: np.ndarray, n: int, reduce, skip: int = 0) -> np.ndarray:
    """reduce(window) over the n values before each position, leaving out the `skip`
    nearest ones (fewer at the start; the first value where nothing precedes). `reduce`
    maps (k, width) windows to k results; full-width windows go through it at once."""
    out = np.empty_like(values)
    full_from = n + skip  # positions from here on have n values before them
    for i in range(min(full_from, len(values))):
        end = i - skip
        window = values[max(0, end - n) : end] if end > 0 else values[:1]
        out[i] = reduce(window[None, :])[0]
    if len(values) > full_from:
        out[full_from:] = reduce(sliding_window_view(values, n)[: len(values) - full_from])
    return out


def _trailing_median(values: np.ndarray, n: int, skip: int = 0) -> np.ndarray:
    return _trailing(values, n, lambda w: np.median(w, axis=1), skip)


def _trailing_quantile(values: np.ndarray, n: int, q: float) -> np.ndarray:
    return _trailing(values, n, lambda w: np.percentile(w, q, axis=1))


def _irregularity(windows: np.ndarray) -> np.ndarray:
    if windows.shape[1] < 2:
        return np.ones(len(windows))
    spread = np.median(np.abs(np.diff(windows, axis=1)), axis=1)
    return 1.0 + spread / np.median(windows, axis=1)


def _trailing_irregularity(values: np.ndarray, n: int) -> np.ndarray:
    """1 + median |successive difference| / median, over the n intervals before each beat."""
    out = _trailing(values, n, _irregularity)
    out[:2] = 1.0
    return out


def _windowed_mean(times: np.ndarray, values: np.ndarray, before_s: float, after_s: float):
    """Mean of `values` over the beats within [t - before_s, t + after_s] of each beat."""
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    lo = np.searchsorted(times, times - before_s, "left")
    hi = np.searchsorted(times, times + after_s, "right")
    return (cumulative[hi] - cumulative[lo]) / np.maximum(hi - lo, 1)


def rr_features(
    beat_samples: np.ndarray,
    fs: float,
    *,
    local_beats: int,
    sinus_beats: int,
    max_rr_s: float = 6.0,
) -> np.ndarray:
    """(n_beats, len(RR_FEATURES)) float32, in seconds for intervals.

    - pre_rr / post_rr: interval to the previous / next beat (copied from the neighbour at
      the record's ends).
    - local_rr: median of the `local_beats` RR intervals before the beat, excluding its own
      pre_rr, so a premature beat is compared with the rhythm it interrupts.
    - sinus_rr: median over the preceding `sinus_beats` beats of the mean of consecutive
      RR pairs. A premature beat's short interval and its compensatory pause average back
      to the sinus cycle, so this stays right in bigeminy, where any plain median is
      itself ectopic.
    - record_rr: median RR of the whole record.
    - upper_rr: 90th percentile of the `sinus_beats` RR intervals before the beat. When
      premature beats are the majority (frequent APCs, runs), every median is ectopic,
      but the sinus cycle is still among the longest intervals; pre_over_upper is the
      beat's prematurity against it.
    - rr_irregularity: 1 + median absolute successive RR difference / median RR, before
      the beat: high in atrial fibrillation, where a short interval is not premature.
    - mean_rr_5min / mean_rr_60s: the mean RR over +/-5 minutes around the beat (de Chazal
      2004) and over the past 60 s. Means over a long time, not medians over recent beats:
      where ectopic runs outnumber sinus beats (MITDB 232), every recent-beat median is
      ectopic, but pauses keep the long mean above the ectopic cycle.
    - rr_variability_20s: 1 + mean |successive RR difference| over +/-10 s, over the 5-minute
      mean: tells irregular rhythm (AF) from one premature beat.

    An interval longer than `max_rr_s` spans a stretch with no beat annotations (in MITDB,
    ventricular flutter, annotated as flutter waves rather than beats), not a pause; it is
    treated like the record's ends: the beat takes its other neighbour's interval.
    """
    samples = np.asarray(beat_samples, dtype=np.float64)
    n = len(samples)
    if n < 2:
        raise ValueError(f"RR features need at least 2 beats, got {n}")
    if np.any(np.diff(samples) <= 0):
        raise ValueError("beat samples must be strictly increasing")
    intervals = np.diff(samples) / fs  # intervals[i] is between beat i and beat i+1
    gap = np.isnan(intervals) | (intervals > max_rr_s)
    pre = np.concatenate([[np.nan], np.where(gap, np.nan, intervals)])
    post = np.concatenate([np.where(gap, np.nan, intervals), [np.nan]])
    pre, post = np.where(np.isnan(pre), post, pre), np.where(np.isnan(post), pre, post)
    # A beat isolated between two gaps has no interval at all: use the record's median.
    typical = np.median(intervals[~gap]) if (~gap).any() else max_rr_s
    pre, post = np.nan_to_num(pre, nan=typical), np.nan_to_num(post, nan=typical)
    local = _trailing_median(pre, local_beats)
    pair_means = (pre + post) / 2.0
    # pair_means[i - 1] contains this beat's own pre_rr: skip it, compare with what preceded.
    sinus = _trailing_median(pair_means, sinus_beats, skip=1)
    record = np.full(n, typical)
    upper = _trailing_quantile(pre, sinus_beats, UPPER_QUANTILE)
    irregularity = _trailing_irregularity(pre, sinus_beats)
    times = samples / fs
    mean_5min = _windowed_mean(times, pre, MEAN_HALF_WINDOW_S, MEAN_HALF_WINDOW_S)
    mean_60s = _windowed_mean(times, pre, PAST_WINDOW_S, 0.0)
    steps = np.abs(np.diff(pre, prepend=pre[0]))
    variability = (
        1.0
        + _windowed_mean(times, steps, VARIABILITY_HALF_WINDOW_S, VARIABILITY_HALF_WINDOW_S)
        / mean_5min
    )
    features = np.column_stack(
        [
            pre,
            post,
            local,
            sinus,
            record,
            upper,
            mean_5min,
            mean_60s,
            pre / post,
            pre / local,
            pre / sinus,
            post / sinus,
            pre / record,
            local / record,
            pre / upper,
            irregularity,
            pre / mean_5min,
            post / mean_5min,
            pre / mean_60s,
            variability,
        ]
    )
    return features.astype(np.float32)
