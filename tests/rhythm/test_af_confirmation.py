"""A long record's AF is confirmed by the learnt strip call, window by window: what the call
rejects is no longer AF, and a window it may not judge (unreadable) is never AF."""

from __future__ import annotations

import numpy as np

from arrhythmia.rhythm.episodes import find_episodes
from arrhythmia.rhythm.strip import confirmed_af_spans
from tests.helpers import synthetic_strip
from tests.rhythm.test_strip_model import FS, _af_rr, _fitted_model


def _long_af_record(seconds: float = 300.0, seed: int = 5):
    rng = np.random.default_rng(seed)
    rr = _af_rr(rng, int(seconds / 0.775))  # mean of U(0.45, 1.1)
    samples, signal = synthetic_strip(rr, p_waves=False, fs=FS, seed=seed)
    labels = np.full(len(samples), "N")
    return samples, labels, np.tile([1.0, 0, 0, 0, 0], (len(samples), 1)), signal


def _af_seconds(episodes) -> float:
    return sum(e.end - e.start for e in episodes if e.rhythm == "AFIB") / FS


def test_af_is_confirmed_window_by_window_and_never_where_unreadable():
    samples, labels, proba, signal = _long_af_record()
    always_af, _, _ = _fitted_model(threshold=0.0)
    span = np.array([[samples[0], samples[-1]]])
    kept = confirmed_af_spans(span, samples, labels, proba, FS, signal, [], always_af, 30.0)
    n_windows = round((samples[-1] - samples[0]) / (30.0 * FS))
    assert len(kept) == n_windows > 5
    assert kept[0, 0] == span[0, 0] and kept[-1, 1] == span[0, 1]
    assert (kept[1:, 0] == kept[:-1, 1]).all()  # equal windows that touch
    a, b = kept[2]
    half_lost = [(a, a + (b - a) // 2)]
    again = confirmed_af_spans(span, samples, labels, proba, FS, signal, half_lost, always_af, 30.0)
    assert [a, b] not in again.tolist() and len(again) == n_windows - 1


def test_find_episodes_keeps_the_af_of_a_long_record_only_where_the_call_confirms_it():
    samples, labels, proba, signal = _long_af_record()
    n = len(signal)
    by_rule = _af_seconds(find_episodes(samples, labels, FS, signal, n))
    assert by_rule > 200
    fitted, _, _ = _fitted_model()
    confirmed = find_episodes(samples, labels, FS, signal, n, proba=proba, strip_af=fitted)
    assert _af_seconds(confirmed) > 0.9 * by_rule
    never_af, _, _ = _fitted_model(threshold=1.5)  # a probability never reaches it
    rejected = find_episodes(samples, labels, FS, signal, n, proba=proba, strip_af=never_af)
    assert _af_seconds(rejected) == 0
