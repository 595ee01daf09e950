"""Signal quality: which windows of a record cannot be read (every lead flat, missing,
clipped or noise-only), checked on real excerpts with controlled corruption, and the
interval helpers the diagnosis paints with."""

import numpy as np
import pytest
from scipy import signal as sps

from arrhythmia.data.wfdb_io import read_ecg
from arrhythmia.signal import quality
from arrhythmia.signal.quality import (
    SignalQuality,
    assess_quality,
    doubtful_stretches,
    grown,
    inside,
    join_windows,
    union,
)
from tests.conftest import EXCERPT_DIR, EXCERPT_RECORDS, SVDB_EXCERPT_DIR, SVDB_EXCERPT_RECORDS

FS = 360.0
WINDOW = 720  # 2-s windows at 360 Hz
STRETCH = slice(5 * WINDOW, 10 * WINDOW)  # windows 5-9: 10 s, on window boundaries


@pytest.fixture(scope="module")
def ecg_100() -> np.ndarray:
    """MITDB 100 (30 s, MLII and V5, mV): clean sinus rhythm."""
    return read_ecg(EXCERPT_DIR / "100").signal


def _white_noise(shape, std: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, std, shape)


@pytest.mark.parametrize(
    "path",
    [EXCERPT_DIR / r for r in EXCERPT_RECORDS]
    + [SVDB_EXCERPT_DIR / r for r in SVDB_EXCERPT_RECORDS],
    ids=lambda p: p.name,
)
def test_clean_real_records_are_readable_in_every_lead_throughout(path):
    # 208's noise episode and 810's artefacts are noisy beats, not unreadable signal.
    ecg = read_ecg(path)
    q = assess_quality(ecg.signal, ecg.fs)
    assert q.unreadable == []
    assert q.lead_usable.all()
    assert q.readable_shares() == [1.0, 1.0]


def test_flat_stretch_in_every_lead_is_unreadable_and_nothing_else(ecg_100):
    x = ecg_100.copy()
    x[STRETCH] = x[STRETCH.start]  # both leads hold their last value: a disconnected cable
    q = assess_quality(x, FS)
    assert q.window == WINDOW and q.n_samples == len(x)
    assert q.unreadable == [(STRETCH.start, STRETCH.stop)]
    assert not q.lead_usable[5:10].any()
    assert q.lead_usable[:5].all() and q.lead_usable[10:].all()


def test_unaligned_flat_stretch_is_reported_to_the_window(ecg_100):
    start, end = int(3.3 * FS), int(13.3 * FS)
    x = ecg_100.copy()
    x[start:end] = 0.0
    (found,) = assess_quality(x, FS).unreadable
    # Every window wholly inside is found; nothing beyond the windows the stretch touches.
    assert found[0] <= -(-start // WINDOW) * WINDOW and found[1] >= end // WINDOW * WINDOW
    assert found[0] >= start // WINDOW * WINDOW and found[1] <= -(-end // WINDOW) * WINDOW


def test_one_dead_lead_of_two_leaves_the_record_readable(ecg_100):
    x = ecg_100.copy()
    x[:, 1] = 0.0
    q = assess_quality(x, FS)
    assert q.unreadable == []
    assert q.lead_usable[:, 0].all() and not q.lead_usable[:, 1].any()
    assert q.readable_shares() == [1.0, 0.0]


def test_nan_stretch_in_every_lead_is_unreadable_and_leaves_the_rest_alone(ecg_100):
    x = ecg_100.copy()
    x[STRETCH] = np.nan
    q = assess_quality(x, FS)
    assert q.unreadable == [(STRETCH.start, STRETCH.stop)]
    assert q.lead_usable[:5].all() and q.lead_usable[10:].all()


def test_a_lead_more_than_half_missing_in_a_window_is_unusable_there():
    # A 10-Hz sine is usable on every other count (not flat, never at its extremes for
    # long, no power above 40 Hz), so only the missing samples can make it unusable.
    t = np.arange(5 * WINDOW) / FS
    x = np.sin(2 * np.pi * 10.0 * t)
    x[WINDOW : WINDOW + int(0.6 * WINDOW)] = np.nan  # window 1: 60 % missing
    x[3 * WINDOW : 3 * WINDOW + int(0.4 * WINDOW)] = np.nan  # window 3: 40 % missing
    q = assess_quality(x, FS)
    assert q.lead_usable[:, 0].tolist() == [True, False, True, True, True]
    assert q.unreadable == [(WINDOW, 2 * WINDOW)]


def _overload(x: np.ndarray, stretch: slice) -> np.ndarray:
    """`x` with gain x20 in `stretch`, saturating at each lead's extremes about half the
    time there: clipped, but not flat."""
    x = x.copy()
    for lead in range(x.shape[1]):
        column = x[:, lead]
        low, high, baseline = np.nanmin(column), np.nanmax(column), np.nanmedian(column)
        column[stretch] = np.clip((column[stretch] - baseline) * 20 + baseline, low, high)
        assert np.percentile(column[stretch], 90) - np.percentile(column[stretch], 10) > 0.5
    return x


def test_amplifier_overload_pinned_at_the_rails_is_unreadable(ecg_100, monkeypatch):
    x = _overload(ecg_100, STRETCH)
    assert assess_quality(x, FS).unreadable == [(STRETCH.start, STRETCH.stop)]
    monkeypatch.setattr(quality, "CLIP_FRACTION", 1.0)  # the clipping rule is what found it
    assert assess_quality(x, FS).unreadable == []


def test_missing_samples_do_not_hide_clipping_elsewhere(ecg_100):
    x = ecg_100.copy()
    x[: 2 * WINDOW] = np.nan
    x = _overload(x, STRETCH)
    assert assess_quality(x, FS).unreadable == [(0, 2 * WINDOW), (STRETCH.start, STRETCH.stop)]


def test_clipped_sine_is_unusable_only_where_it_sits_on_its_extremes():
    t = np.arange(10 * WINDOW) / FS
    x = np.sin(2 * np.pi * 1.0 * t)  # touches +-1 at single samples only: usable
    clipped = slice(4 * WINDOW, 6 * WINDOW)
    x[clipped] = np.clip(2 * x[clipped], -1.0, 1.0)  # 2/3 of the time at +-1
    q = assess_quality(x, FS)
    assert q.unreadable == [(clipped.start, clipped.stop)]


def test_noise_only_stretch_is_unreadable_by_the_noise_rule(ecg_100, monkeypatch):
    x = ecg_100.copy()
    x[STRETCH] = _white_noise(x[STRETCH].shape, 0.1)  # electrodes off: amplifier noise only
    assert assess_quality(x, FS).unreadable == [(STRETCH.start, STRETCH.stop)]
    monkeypatch.setattr(quality, "NOISE_HF_FRACTION", 1.0)
    assert assess_quality(x, FS).unreadable == []


def test_strong_noise_added_to_the_ecg_is_unreadable_and_mild_noise_is_not(ecg_100):
    strong = ecg_100.copy()
    strong[STRETCH] += _white_noise(strong[STRETCH].shape, 0.5)
    assert assess_quality(strong, FS).unreadable == [(STRETCH.start, STRETCH.stop)]
    mild = ecg_100 + _white_noise(ecg_100.shape, 0.02)
    assert assess_quality(mild, FS).unreadable == []


def test_noise_in_one_lead_leaves_the_other_to_read(ecg_100):
    x = ecg_100.copy()
    x[STRETCH, 1] = _white_noise(len(x[STRETCH]), 0.1)
    q = assess_quality(x, FS)
    assert q.unreadable == []
    assert q.lead_usable[:, 0].all()
    assert np.flatnonzero(~q.lead_usable[:, 1]).tolist() == [5, 6, 7, 8, 9]
    assert q.readable_shares()[1] == pytest.approx(1 - 10 / 30)


def _hum(n_samples: int, fs: float, hz: float, amplitude: float = 0.2) -> np.ndarray:
    """High-frequency interference (two leads), with a little white noise."""
    hum = amplitude * np.sin(2 * np.pi * hz * np.arange(n_samples) / fs)
    return hum[:, None] + _white_noise((n_samples, 2), 0.02)


def test_at_128_hz_high_frequency_noise_is_found_with_128_hz_windows():
    ecg = read_ecg(SVDB_EXCERPT_DIR / "822")  # 128 Hz: 2-s windows of 256 samples
    stretch = slice(5 * 256, 10 * 256)
    noisy = ecg.signal.copy()
    noisy[stretch] = _hum(len(noisy[stretch]), ecg.fs, 50.0)  # European mains, no ECG
    q = assess_quality(noisy, ecg.fs)
    assert q.window == 256
    assert q.unreadable == [(stretch.start, stretch.stop)]


def test_below_100_hz_noise_is_not_judged_by_frequency_but_flat_still_is(ecg_100):
    fs = FS / 4  # 90 Hz: 2-s windows of 180 samples
    ecg = sps.decimate(ecg_100, 4, axis=0)
    stretch = slice(5 * 180, 10 * 180)
    noisy = ecg.copy()
    noisy[stretch] = _hum(len(noisy[stretch]), fs, 42.0)
    assert assess_quality(noisy, fs).unreadable == []
    flat = ecg.copy()
    flat[stretch] = 0.0
    assert assess_quality(flat, fs).unreadable == [(stretch.start, stretch.stop)]


def test_a_flat_short_last_window_is_unreadable(ecg_100):
    x = ecg_100[: 14 * WINDOW + WINDOW // 2].copy()  # the last window is half long
    x[13 * WINDOW :] = 0.5  # stuck at 0.5 mV from 26 s to the end
    assert assess_quality(x, FS).unreadable == [(13 * WINDOW, len(x))]


def test_judging_block_by_block_gives_the_answer_of_one_block(ecg_100, monkeypatch):
    x = ecg_100.copy()
    x[STRETCH, 0] = 0.0
    x[6 * WINDOW : 12 * WINDOW, 1] = np.nan
    x = x[: len(x) - 100]  # a short last window
    whole = assess_quality(x, FS)
    monkeypatch.setattr(quality, "BLOCK_WINDOWS", 4)  # block edges at windows 4, 8, 12
    blocked = assess_quality(x, FS)
    assert blocked.unreadable == whole.unreadable == [(6 * WINDOW, 10 * WINDOW)]
    np.testing.assert_array_equal(blocked.lead_usable, whole.lead_usable)


def test_a_one_dimensional_signal_is_one_lead():
    x = np.zeros(3 * WINDOW)
    q = assess_quality(x, FS)
    assert q.lead_usable.shape == (3, 1)
    assert q.unreadable == [(0, 3 * WINDOW)]


def test_mask_includes_the_start_and_excludes_the_end_of_each_stretch():
    q = SignalQuality(unreadable=[(10, 20), (30, 31)])
    samples = np.array([0, 9, 10, 19, 20, 29, 30, 31, 1000])
    expected = [False, False, True, True, False, False, True, False, False]
    assert q.mask(samples).tolist() == expected
    assert inside(samples, q.unreadable).tolist() == expected


def test_inside_no_stretches_is_false_everywhere():
    assert inside(np.array([0, 5, 10]), []).tolist() == [False, False, False]
    assert inside(np.zeros(0, dtype=np.int64), [(0, 5)]).tolist() == []


def test_readable_shares_count_the_short_last_window_by_its_length():
    usable = np.array([[True, True], [True, False], [True, False]])
    q = SignalQuality(unreadable=[], lead_usable=usable, window=100, n_samples=250)
    # Lead 1 is out for one full window (100) and the last, half window (50).
    assert q.readable_shares() == [1.0, pytest.approx(1 - 150 / 250)]


def test_readable_shares_of_an_empty_record_are_zero_per_lead():
    q = SignalQuality(unreadable=[], lead_usable=np.zeros((0, 2), dtype=bool), n_samples=0)
    assert q.readable_shares() == [0.0, 0.0]


def test_doubtful_stretch_needs_max_doubtful_candidates_in_one_window():
    fs, n = 100.0, 6000  # 60 s: six 10-s windows of 1000 samples
    seven = np.arange(7) * 100 + 2050  # window 2
    assert doubtful_stretches(seven, n, fs) == []
    eight = np.r_[seven, 2950]
    assert doubtful_stretches(eight, n, fs) == [(2000, 3000)]


def test_doubtful_stretches_of_neighbouring_windows_are_joined_and_end_at_the_record():
    fs, n = 100.0, 5500  # the last window is half long
    crowded = np.r_[np.arange(8) * 10 + 1000, np.arange(8) * 10 + 2000, np.arange(8) + 5000]
    assert doubtful_stretches(crowded, n, fs) == [(1000, 3000), (5000, 5500)]


def test_doubtful_stretches_honour_their_window_and_count():
    fs, n = 100.0, 6000
    # Four candidates in each half of window 2 (20-25 s and 25-30 s).
    doubtful = np.r_[np.arange(4) * 100 + 2050, np.arange(4) * 100 + 2550]
    assert doubtful_stretches(doubtful, n, fs) == [(2000, 3000)]
    assert doubtful_stretches(doubtful, n, fs, window_s=5.0) == []
    assert doubtful_stretches(doubtful, n, fs, window_s=5.0, max_doubtful=4) == [(2000, 3000)]
    assert doubtful_stretches(doubtful, n, fs, max_doubtful=9) == []


def test_noisy_stretches_grow_over_touching_windows_with_a_few_doubtful_candidates():
    fs, n = 100.0, 9000  # nine 10-s windows of 1000 samples
    noisy = np.arange(8) * 100 + 3050  # window 3: noisy on its own
    near = np.r_[np.arange(3) * 100 + 2050, np.arange(3) * 100 + 1050]  # windows 1, 2: three each
    further = np.arange(3) * 100 + 4050  # window 4: three, touching window 3
    alone = np.arange(3) * 100 + 7050  # window 7: three, but no noisy window beside it
    two = np.arange(2) * 100 + 5050  # window 5: two, below the touching count
    doubtful = np.r_[noisy, near, further, alone, two]
    assert doubtful_stretches(doubtful, n, fs) == [(1000, 5000)]
    assert doubtful_stretches(doubtful, n, fs, near_doubtful=None) == [(3000, 4000)]
    assert doubtful_stretches(doubtful, n, fs, near_doubtful=2) == [(1000, 6000)]


def test_grown_keeps_the_weak_runs_that_touch_a_seed():
    seeds = np.array([0, 0, 1, 0, 0, 0, 0, 1, 0, 0], dtype=bool)
    weak = np.array([1, 1, 0, 1, 0, 1, 1, 0, 0, 1], dtype=bool)
    assert grown(seeds, weak).astype(int).tolist() == [1, 1, 1, 1, 0, 1, 1, 1, 0, 0]
    assert grown(np.zeros(3, dtype=bool), np.ones(3, dtype=bool)).tolist() == [False] * 3
    assert len(grown(np.zeros(0, dtype=bool), np.zeros(0, dtype=bool))) == 0


def test_no_doubtful_candidates_no_stretches():
    assert doubtful_stretches(np.zeros(0, dtype=np.int64), 6000, 100.0) == []


def test_join_windows_joins_touching_windows_and_clips_the_last_to_the_record():
    assert join_windows(np.array([0, 1, 3, 4, 5]), 10, 55) == [(0, 20), (30, 55)]
    assert join_windows(np.array([2]), 10, 100) == [(20, 30)]
    assert join_windows(np.array([], dtype=np.int64), 10, 100) == []


def test_union_merges_overlapping_and_touching_stretches_from_any_order():
    assert union([(30, 40), (0, 10)], [(5, 12)], [(12, 15), (50, 60)], []) == [
        (0, 15),
        (30, 40),
        (50, 60),
    ]
    assert union([(0, 100)], [(10, 20)]) == [(0, 100)]  # one inside another
    assert union() == [] and union([], []) == []


def test_the_length_covered_before_a_time_counts_whole_and_partial_spans():
    from arrhythmia.signal.quality import covered_before

    spans = np.array([[10, 20], [30, 35]])
    t = np.array([0, 10, 15, 20, 25, 30, 33, 35, 100])
    assert covered_before(spans, t).tolist() == [0, 0, 5, 10, 10, 10, 13, 15, 15]
    assert covered_before(np.empty((0, 2), np.int64), t).tolist() == [0] * len(t)
