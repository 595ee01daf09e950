"""Medians and percentiles of many windows at once equal numpy's of each window alone, to
the last bit (ties and windows of one or two values included)."""

import numpy as np
import pytest

from arrhythmia.signal import ragged


@pytest.mark.parametrize("q", [90, 50, 10, 33.3, 100, 0])
def test_each_window_reduces_as_numpy_does_alone(q):
    rng = np.random.default_rng(int(q))
    values = np.round(rng.uniform(0.3, 1.5, 200), 1)  # few distinct values: ties
    starts = rng.integers(0, 150, 400)
    lengths = rng.integers(1, 51, 400)
    rows = ragged.sorted_windows(values, starts, lengths)
    windows = [values[s : s + n] for s, n in zip(starts, lengths, strict=True)]
    np.testing.assert_array_equal(ragged.median(rows, lengths), [np.median(w) for w in windows])
    np.testing.assert_array_equal(
        ragged.percentile(rows, lengths, q), [np.percentile(w, q) for w in windows]
    )


def test_no_window_reads_past_its_length():
    values = np.array([5.0, 1.0, 3.0, 100.0, -100.0])
    rows = ragged.sorted_windows(values, np.array([0, 1, 2]), np.array([3, 2, 1]))
    np.testing.assert_array_equal(ragged.median(rows, np.array([3, 2, 1])), [3.0, 2.0, 3.0])
    np.testing.assert_array_equal(rows[2, 1:], [np.inf, np.inf])


def test_an_empty_window_or_one_past_the_values_is_refused():
    values = np.arange(5.0)
    for starts, lengths in (([0, 2], [3, 0]), ([3], [3])):
        with pytest.raises(ValueError, match="at least one value"):
            ragged.sorted_windows(values, np.array(starts), np.array(lengths))
