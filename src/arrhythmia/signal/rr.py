"""RR-interval features: timing context that separates premature beats from normal ones."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from arrhythmia.signal import ragged

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


def _trailing(values: np.ndarray, n: int, reduce, first, skip: int = 0) -> np.ndarray:
    """reduce(window) over the n values before each position, leaving out the `skip`
    nearest ones (fewer at the start; the first value where nothing precedes). `reduce`
    maps (k, width) windows to k results, all full-width windows at once; `first` gives
    the same results for the shorter windows at the start (values[:length] for each
    length), so that a strip's few beats are not a loop of numpy calls."""
    out = np.empty_like(values)
    full_from = min(n + skip, len(values))  # positions from here on have n values before them
    if full_from > 0:
        out[:full_from] = first(np.maximum(np.arange(full_from) - skip, 1))
    if len(values) > full_from:
        out[full_from:] = reduce(sliding_window_view(values, n)[: len(values) - full_from])
    return out


def _first_windows(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    return ragged.sorted_windows(values, np.zeros_like(lengths), lengths)


def _trailing_median(values: np.ndarray, n: int, skip: int = 0) -> np.ndarray:
    def first(lengths: np.ndarray) -> np.ndarray:
        return ragged.median(_first_windows(values, lengths), lengths)

    return _trailing(values, n, lambda w: np.median(w, axis=1), first, skip)


def _trailing_quantile(values: np.ndarray, n: int, q: float) -> np.ndarray:
    def first(lengths: np.ndarray) -> np.ndarray:
        return ragged.percentile(_first_windows(values, lengths), lengths, q)

    return _trailing(values, n, lambda w: np.percentile(w, q, axis=1), first)


def _irregularity(windows: np.ndarray) -> np.ndarray:
    if windows.shape[1] < 2:
        return np.ones(len(windows))
    spread = np.median(np.abs(np.diff(windows, axis=1)), axis=1)
    return 1.0 + spread / np.median(windows, axis=1)


def _trailing_irregularity(values: np.ndarray, n: int) -> np.ndarray:
    """1 + median |successive difference| / median, over the n intervals before each beat."""

    def first(lengths: np.ndarray) -> np.ndarray:
        if len(values) < 2:
            return np.ones(len(lengths))
        steps = np.maximum(lengths - 1, 1)  # windows of one value get 1 below
        first_steps = np.abs(np.diff(values[: int(lengths.max()) + 1]))
        spread = ragged.median(_first_windows(first_steps, steps), steps)
        typical = ragged.median(_first_windows(values, lengths), lengths)
        return np.where(lengths < 2, 1.0, 1.0 + spread / typical)

    out = _trailing(values, n, _irregularity, first)
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
    """(n_beats, len(RR_FEATURES)) float32: the intervals of `rr_intervals`, in seconds,
    then the ratios of `rr_ratios`, in RR_FEATURES order."""
    samples = np.asarray(beat_samples, dtype=np.float64)
    n = len(samples)
    if n < 2:
        raise ValueError(f"RR features need at least 2 beats, got {n}")
    if np.any(np.diff(samples) <= 0):
        raise ValueError("beat samples must be strictly increasing")
    intervals = rr_intervals(samples, fs, local_beats, sinus_beats, max_rr_s)
    ratios = rr_ratios(intervals, samples / fs, sinus_beats)
    columns = [intervals[name] for name in RR_INTERVALS] + [ratios[name] for name in RR_RATIOS]
    return np.column_stack(columns).astype(np.float32)


def _neighbour_intervals(
    samples: np.ndarray, fs: float, max_rr_s: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """pre_rr, post_rr and the record's median interval (see `rr_intervals`)."""
    intervals = np.diff(samples) / fs  # intervals[i] is between beat i and beat i+1
    gap = np.isnan(intervals) | (intervals > max_rr_s)
    pre = np.concatenate([[np.nan], np.where(gap, np.nan, intervals)])
    post = np.concatenate([np.where(gap, np.nan, intervals), [np.nan]])
    pre, post = np.where(np.isnan(pre), post, pre), np.where(np.isnan(post), pre, post)
    # A beat isolated between two gaps has no interval at all: use the record's median.
    typical = np.median(intervals[~gap]) if (~gap).any() else max_rr_s
    return np.nan_to_num(pre, nan=typical), np.nan_to_num(post, nan=typical), typical


def rr_intervals(
    samples: np.ndarray, fs: float, local_beats: int, sinus_beats: int, max_rr_s: float
) -> dict[str, np.ndarray]:
    """The RR_INTERVALS of each beat at `samples` (strictly increasing), in seconds:

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
    - mean_rr_5min / mean_rr_60s: the mean RR over +/-5 minutes around the beat (de Chazal
      2004) and over the past 60 s. Means over a long time, not medians over recent beats:
      where ectopic runs outnumber sinus beats (MITDB 232), every recent-beat median is
      ectopic, but pauses keep the long mean above the ectopic cycle.

    An interval longer than `max_rr_s` spans a stretch with no beat annotations (in MITDB,
    ventricular flutter, annotated as flutter waves rather than beats), not a pause; it is
    treated like the record's ends: the beat takes its other neighbour's interval.
    """
    pre, post, typical = _neighbour_intervals(samples, fs, max_rr_s)
    pair_means = (pre + post) / 2.0
    times = samples / fs
    return {
        "pre_rr": pre,
        "post_rr": post,
        "local_rr": _trailing_median(pre, local_beats),
        # pair_means[i - 1] contains this beat's own pre_rr: skip it, compare with what preceded.
        "sinus_rr": _trailing_median(pair_means, sinus_beats, skip=1),
        "record_rr": np.full(len(samples), typical),
        "upper_rr": _trailing_quantile(pre, sinus_beats, UPPER_QUANTILE),
        "mean_rr_5min": _windowed_mean(times, pre, MEAN_HALF_WINDOW_S, MEAN_HALF_WINDOW_S),
        "mean_rr_60s": _windowed_mean(times, pre, PAST_WINDOW_S, 0.0),
    }


def rr_ratios(
    intervals: dict[str, np.ndarray], times: np.ndarray, sinus_beats: int
) -> dict[str, np.ndarray]:
    """The RR_RATIOS of each beat from its `rr_intervals` (beat times in seconds): the
    intervals over one another, and

    - rr_irregularity: 1 + median absolute successive RR difference / median RR, before
      the beat: high in atrial fibrillation, where a short interval is not premature.
    - rr_variability_20s: 1 + mean |successive RR difference| over +/-10 s, over the 5-minute
      mean: tells irregular rhythm (AF) from one premature beat.
    """
    pre, post, local = intervals["pre_rr"], intervals["post_rr"], intervals["local_rr"]
    sinus, record, mean_5min = (
        intervals["sinus_rr"],
        intervals["record_rr"],
        intervals["mean_rr_5min"],
    )
    steps = np.abs(np.diff(pre, prepend=pre[0]))
    step_mean = _windowed_mean(times, steps, VARIABILITY_HALF_WINDOW_S, VARIABILITY_HALF_WINDOW_S)
    return {
        "pre_over_post": pre / post,
        "pre_over_local": pre / local,
        "pre_over_sinus": pre / sinus,
        "post_over_sinus": post / sinus,
        "pre_over_record": pre / record,
        "local_over_record": local / record,
        "pre_over_upper": pre / intervals["upper_rr"],
        "rr_irregularity": _trailing_irregularity(pre, sinus_beats),
        "pre_over_mean_5min": pre / mean_5min,
        "post_over_mean_5min": post / mean_5min,
        "pre_over_mean_60s": pre / intervals["mean_rr_60s"],
        "rr_variability_20s": 1.0 + step_mean / mean_5min,
    }
