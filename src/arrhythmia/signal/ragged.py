"""Medians and percentiles of many windows of different lengths at once, each equal, bit
for bit, to numpy's of that window alone (the features do not move): a record's few
first windows, or one window per beat, without a Python loop of numpy calls.

For finite values and windows of at least one value (sorting puts a NaN after the +inf
padding, where numpy would answer NaN); percentiles from 0 to 100."""

from __future__ import annotations

import numpy as np


def sorted_windows(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(n, max length) rows: values[start : start + length] sorted, padded with +inf;
    ValueError for an empty window or one that runs past the values."""
    if len(lengths) and (lengths.min() < 1 or (starts + lengths).max() > len(values)):
        raise ValueError("every window needs at least one value, all inside the values")
    width = int(lengths.max()) if len(lengths) else 0
    columns = np.arange(width)
    inside = columns < lengths[:, None]
    at = np.where(inside, starts[:, None] + columns, 0)
    return np.sort(np.where(inside, values[at], np.inf), axis=1)


def median(rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """np.median of each sorted row's first `lengths` values: the middle value, or the
    mean of the middle two (numpy takes their mean too)."""
    at = np.arange(len(rows))
    low, high = rows[at, (lengths - 1) // 2], rows[at, lengths // 2]
    return np.where(lengths % 2 == 1, low, (low + high) / 2)


def percentile(rows: np.ndarray, lengths: np.ndarray, q: float) -> np.ndarray:
    """np.percentile(..., q) (its default, linear) of each sorted row's first `lengths`
    values, by numpy's own steps: index (n - 1) * q / 100, then its two-sided
    interpolation between the values either side."""
    at = np.arange(len(rows))
    virtual = (lengths - 1) * np.true_divide(q, 100)
    below = np.floor(virtual)
    last = virtual >= lengths - 1
    low = np.where(last, lengths - 1, below.astype(np.intp))
    high = np.where(last, lengths - 1, low + 1)
    a, b, t = rows[at, low], rows[at, high], virtual - below
    gap = b - a
    return np.where(t >= 0.5, b - gap * (1 - t), a + gap * t)
