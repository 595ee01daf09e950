"""A long record's AF is confirmed by the learnt strip call, window by window: each window
is read exactly as a strip of its own would be, what the call rejects is no longer AF, and a
window it may not judge (unreadable) is never AF."""

from __future__ import annotations

import numpy as np

from arrhythmia.rhythm.episodes import find_episodes
from arrhythmia.rhythm.strip import confirmed_af_spans, learnt_call_inputs
from tests.helpers import synthetic_strip
from tests.rhythm.test_strip_model import FS, _af_rr, _fitted_model


class SpyCall:
    """A strip call that calls every window AF and keeps the rows it was asked about."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []

    def is_af(self, row: np.ndarray) -> bool:
        self.rows.append(row)
        return True


def _long_af_record(seconds: float = 300.0, seed: int = 5):
    rng = np.random.default_rng(seed)
    rr = _af_rr(rng, int(seconds / 0.775))  # mean of U(0.45, 1.1)
    samples, signal = synthetic_strip(rr, p_waves=False, fs=FS, seed=seed)
    labels = np.full(len(samples), "N")
    return samples, labels, np.tile([1.0, 0, 0, 0, 0], (len(samples), 1)), signal


def _confirm(span, record, unreadable=(), model=None):
    samples, labels, proba, signal = record
    return confirmed_af_spans(
        np.array([span]),
        *(samples, labels, proba, FS, signal, list(unreadable)),
        model=model or SpyCall(),
        window_s=30.0,
    )


def _af_seconds(episodes) -> float:
    return sum(e.end - e.start for e in episodes if e.rhythm == "AFIB") / FS


def test_windows_last_the_window_to_twice_it_and_tile_the_span():
    record = _long_af_record()
    window = 30.0 * FS
    for seconds in (59.0, 61.0, 95.0, 250.0):
        span = (1000, 1000 + int(seconds * FS))
        kept = _confirm(span, record)
        lengths = kept[:, 1] - kept[:, 0]
        assert len(kept) == max(1, int(seconds // 30))
        assert (lengths >= window - 1).all() and (lengths < 2 * window).all()
        assert kept[0, 0] == span[0] and kept[-1, 1] == span[1]
        assert (kept[1:, 0] == kept[:-1, 1]).all()  # they touch: one episode once merged


def test_each_window_is_read_as_a_strip_of_its_own():
    record = samples, labels, proba, signal = _long_af_record()
    spy = SpyCall()
    span = (int(samples[3]), int(samples[-3]))
    edge = int(_confirm(span, record)[1, 1])
    lost = (edge - int(2 * FS), edge + int(2 * FS))  # straddles windows 1 and 2, both judged
    kept = _confirm(span, record, [lost], model=spy)
    assert len(spy.rows) == len(kept)
    for (a, b), row in zip(kept, spy.rows, strict=True):
        inside = (samples >= a) & (samples < b)  # a beat on an edge starts the next window
        clipped = (
            [(max(lost[0], a) - a, min(lost[1], b) - a)] if lost[0] < b and lost[1] > a else []
        )
        expected, _ = learnt_call_inputs(
            samples[inside] - a, labels[inside], proba[inside], FS, signal[a:b], clipped
        )
        np.testing.assert_array_equal(row, expected)
    n_beats = sum(int(((samples >= a) & (samples < b)).sum()) for a, b in kept)
    assert n_beats == int(((samples >= span[0]) & (samples < span[1])).sum())


def test_a_window_the_call_may_not_judge_is_not_af():
    record = samples, _, _, _ = _long_af_record()
    span = (int(samples[0]), int(samples[-1]))
    windows = _confirm(span, record)
    (a, b), (c, d) = windows[2], windows[3]
    quarter_lost = (b - (b - a) // 4, b)  # a quarter of window 2 unreadable: not judged
    tenth_lost = (c, c + (d - c) // 10)  # a tenth of window 3: still judged
    kept = _confirm(span, record, [quarter_lost, tenth_lost]).tolist()
    assert [a, b] not in kept and [c, d] in kept and len(kept) == len(windows) - 1


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
    # without the beats' probabilities the call cannot read the beats: the detector's AF
    unread = find_episodes(samples, labels, FS, signal, n, strip_af=never_af)
    assert _af_seconds(unread) == by_rule
