import numpy as np
import pytest

from arrhythmia.signal.beats import beat_windows, window_bounds
from arrhythmia.signal.rr import RR_FEATURES, rr_features


def test_window_bounds_at_360_hz():
    assert window_bounds(360.0, 0.25, 0.45) == (90, 162)


def test_beat_windows_are_centred_on_the_beat():
    ecg = np.column_stack([np.arange(1000.0), -np.arange(1000.0)])
    windows = beat_windows(ecg, np.array([100, 500]), pre=10, post=20)
    assert windows.shape == (2, 2, 30)
    assert windows.dtype == np.float32
    assert windows[0, 0, 10] == 100 and windows[1, 0, 10] == 500  # beat sample at index `pre`
    np.testing.assert_array_equal(windows[1, 1], -np.arange(490, 520))


def test_beat_windows_edge_pad_beats_at_record_ends():
    ecg = np.arange(100.0)[:, None]
    windows = beat_windows(ecg, np.array([2, 98]), pre=5, post=5)
    np.testing.assert_array_equal(windows[0, 0, :5], [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(windows[1, 0, 5:], [98, 99, 99, 99, 99])


def test_beat_windows_reject_samples_outside_signal():
    with pytest.raises(ValueError, match="outside"):
        beat_windows(np.zeros((100, 1)), np.array([100]), pre=5, post=5)


def _features(samples, fs=360.0):
    f = rr_features(np.array(samples), fs, local_beats=10, sinus_beats=32)
    return {name: f[:, i] for i, name in enumerate(RR_FEATURES)}


def test_rr_features_of_regular_rhythm():
    f = _features(np.arange(0, 360 * 20, 360))  # 60 bpm
    for name in RR_FEATURES:
        np.testing.assert_allclose(f[name], 1.0)


def test_premature_beat_is_premature_against_preceding_rhythm():
    # Sinus at 1 s, one premature beat 0.6 s after its predecessor, then a compensatory pause.
    intervals = [1.0] * 15 + [0.6, 1.4] + [1.0] * 5
    samples = np.round(np.cumsum([0.0] + intervals) * 360).astype(int)
    f = _features(samples)
    k = 16  # the premature beat
    assert f["pre_rr"][k] == pytest.approx(0.6, abs=1e-3)
    assert f["post_rr"][k] == pytest.approx(1.4, abs=1e-3)
    assert f["pre_over_local"][k] == pytest.approx(0.6, abs=1e-2)
    assert f["pre_over_post"][k] == pytest.approx(0.6 / 1.4, abs=1e-2)
    assert f["local_rr"][k] == pytest.approx(1.0)  # its own short interval is not in the median


def test_sinus_rr_stays_on_the_sinus_cycle_in_bigeminy():
    # Bigeminy: coupling 0.6 s, pause 1.4 s; the underlying sinus cycle is 1.0 s.
    intervals = [0.6, 1.4] * 30
    samples = np.round(np.cumsum([0.0] + intervals) * 360).astype(int)
    f = _features(samples)
    ectopic = np.arange(41, 60, 2)
    np.testing.assert_allclose(f["sinus_rr"][ectopic], 1.0, atol=0.01)
    assert np.all(f["pre_over_sinus"][ectopic] < 0.65)
    assert np.all(f["pre_over_sinus"][ectopic + 1] > 1.35)


def test_upper_rr_finds_the_sinus_cycle_when_premature_beats_are_the_majority():
    # Slow sinus rhythm (1.6 s) with runs of premature beats at 1.0 s: 3 of every 4 intervals.
    intervals = [1.6, 1.0, 1.0, 1.0] * 12
    samples = np.round(np.cumsum([0.0] + intervals) * 360).astype(int)
    f = _features(samples)
    premature = np.arange(34, 49)[np.array(intervals[33:48]) == 1.0]
    assert np.median(f["pre_over_local"][premature]) == pytest.approx(1.0)  # the median is fooled
    np.testing.assert_allclose(f["pre_over_upper"][premature], 1.0 / 1.6, rtol=0.02)


def test_irregularity_is_high_in_an_irregular_rhythm():
    rng = np.random.default_rng(0)
    regular = np.cumsum([0.0] + [0.8] * 40)
    irregular = np.cumsum([0.0] + list(rng.uniform(0.4, 1.2, 40)))
    f_reg = _features(np.round(regular * 360).astype(int))
    f_irr = _features(np.round(irregular * 360).astype(int))
    assert f_reg["rr_irregularity"][-1] == pytest.approx(1.0)
    assert f_irr["rr_irregularity"][-1] > 1.2


def test_gap_without_beat_annotations_is_not_an_rr_interval():
    # 1 s rhythm, then 20 s with no beat annotations (e.g. ventricular flutter), then 1 s again.
    seconds = [0, 1, 2, 3, 4, 24, 25, 26, 27]
    f = _features(np.array(seconds) * 360)
    assert f["post_rr"][4] == pytest.approx(1.0) and f["pre_rr"][5] == pytest.approx(1.0)
    assert f["pre_rr"].max() <= 6.0 and f["record_rr"][0] == pytest.approx(1.0)


def test_rr_features_need_increasing_samples():
    with pytest.raises(ValueError, match="increasing"):
        _features([0, 100, 100, 300])
    with pytest.raises(ValueError, match="at least 2"):
        _features([5])


def test_long_window_means_keep_ectopic_runs_premature():
    # MITDB 232's pattern: runs of ectopic atrial beats at 0.73 s outnumber sinus beats,
    # which end long pauses. Every recent-beat median is ectopic; the long means are not.
    cycle = [2.0] + [0.73] * 6  # one sinus beat after a pause, then an ectopic run
    samples = np.round(np.cumsum([0.0] + cycle * 60) * 360).astype(int)
    f = _features(samples)
    middle = slice(200, 260)
    ectopic = np.isclose(f["pre_rr"][middle], 0.73, atol=0.01)
    sinus = np.isclose(f["pre_rr"][middle], 2.0, atol=0.01)
    assert np.all(f["pre_over_local"][middle][ectopic] > 0.95)  # looks on time
    assert np.all(f["pre_over_mean_5min"][middle][ectopic] < 0.85)
    assert np.all(f["pre_over_mean_5min"][middle][sinus] > 1.9)
    assert np.all(f["pre_over_mean_60s"][middle][ectopic] < 0.85)


def test_variability_separates_irregular_rhythm_from_one_premature_beat():
    rng = np.random.default_rng(0)
    irregular = rng.uniform(0.4, 1.0, 200)  # atrial fibrillation-like
    regular = [0.8] * 100 + [0.5, 1.1] + [0.8] * 98
    f_irregular = _features(np.round(np.cumsum([0.0, *irregular]) * 360).astype(int))
    f_regular = _features(np.round(np.cumsum([0.0, *regular]) * 360).astype(int))
    assert f_irregular["rr_variability_20s"][100:].min() > 1.2
    assert f_regular["rr_variability_20s"].max() < 1.1


@pytest.mark.parametrize(("n", "skip"), [(1, 0), (5, 1), (10, 0), (32, 1), (32, 0)])
def test_the_first_windows_reduce_as_numpy_does_to_the_last_bit(n, skip):
    """The windows at a record's start (all of a strip's, often) are reduced together from
    sorted rows; each result equals numpy's median, percentile or irregularity of that
    window alone, bit for bit (ties included), so no feature moves."""
    from arrhythmia.signal import rr

    def by_hand(values, reduce, skip=0):
        windows = [values[max(0, i - skip - n) : i - skip] if i - skip > 0 else values[:1]
                   for i in range(len(values))]  # fmt: skip
        return np.array([reduce(w) for w in windows])

    def irregular(w):
        return 1.0 if len(w) < 2 else 1 + np.median(np.abs(np.diff(w))) / np.median(w)

    rng = np.random.default_rng(n + skip)
    for length in (1, 2, 3, n + skip, n + skip + 7, 60):
        values = np.round(rng.uniform(0.3, 1.5, length), 1)  # few distinct values: ties
        np.testing.assert_array_equal(
            rr._trailing_median(values, n, skip), by_hand(values, np.median, skip)
        )
        np.testing.assert_array_equal(
            rr._trailing_quantile(values, n, 90), by_hand(values, lambda w: np.percentile(w, 90))
        )
        expected = by_hand(values, irregular)
        expected[:2] = 1.0
        np.testing.assert_array_equal(rr._trailing_irregularity(values, n), expected)
