"""The R-peak fiducial point: a detected beat moved to the largest QRS deflection of the
primary lead nearby lands where MITDB's annotators put the R peak."""

import numpy as np
import pytest

from arrhythmia.data.wfdb_io import read_beats, read_ecg
from arrhythmia.detection.fiducial import MIN_RR_S, REACH_S, merge_close, refine_to_peak
from tests.conftest import EXCERPT_DIR, EXCERPT_RECORDS

FS = 360.0
TOLERANCE = 8  # samples (22 ms): the module's measure of a beat placed where annotated


def _primary_and_beats(record: str):
    ecg = read_ecg(EXCERPT_DIR / record)
    beats = read_beats(EXCERPT_DIR / record)
    return ecg.signal[:, 0], beats


def _distance_to_nearest(found: np.ndarray, reference: np.ndarray) -> np.ndarray:
    j = np.clip(np.searchsorted(found, reference), 1, len(found) - 1)
    return np.minimum(np.abs(found[j] - reference), np.abs(found[j - 1] - reference))


def _spike_train(n_samples: int, at, width_s: float = 0.01) -> np.ndarray:
    t = np.arange(n_samples)[:, None]
    return np.exp(-0.5 * ((t - np.asarray(at)[None, :]) / (width_s * FS)) ** 2).sum(axis=1)


@pytest.mark.parametrize("shift_ms", [-40, -20, 20, 40])
def test_normal_beats_marked_off_the_peak_land_on_the_annotated_r_peak(shift_ms):
    lead, beats = _primary_and_beats("100")  # sinus rhythm, MLII
    marked = beats.sample + int(round(shift_ms / 1000 * FS))
    found = refine_to_peak(lead, FS, marked)
    assert len(found) == len(beats.sample)
    assert np.abs(found - beats.sample).max() <= 1  # within 3 ms


@pytest.mark.parametrize("record", EXCERPT_RECORDS)
def test_beats_marked_40_ms_early_land_within_22_ms_of_the_annotation(record):
    # 40 ms early: where the candidate detector marks wide V beats (the module's reason).
    lead, beats = _primary_and_beats(record)
    early = beats.sample - int(round(0.040 * FS))
    found = refine_to_peak(lead, FS, early)
    assert len(found) == len(beats.sample)  # no beat lost or merged
    assert np.mean(_distance_to_nearest(found, beats.sample) <= TOLERANCE) >= 0.9
    assert np.mean(np.abs(early - beats.sample) <= TOLERANCE) == 0  # it had to move


@pytest.mark.parametrize(
    "change",
    [lambda x: x + 5.0, lambda x: -x, lambda x: 3.0 * x, lambda x: -0.5 * x + 1.0],
    ids=["offset", "inverted", "gain", "inverted gain and offset"],
)
@pytest.mark.parametrize("record", ["119", "208"])
def test_fiducial_point_ignores_offset_gain_and_polarity(record, change):
    # |band-passed lead|: a baseline offset is filtered out, an inverted lead's deepest
    # deflection is its tallest.
    lead, beats = _primary_and_beats(record)
    marked = beats.sample - 10
    np.testing.assert_array_equal(
        refine_to_peak(change(lead), FS, marked), refine_to_peak(lead, FS, marked)
    )


def test_a_beat_moves_to_a_peak_within_reach_and_no_further():
    reach = int(REACH_S * FS)  # 28 samples
    lead = _spike_train(3000, [1000, 2000])
    assert refine_to_peak(lead, FS, np.array([1000 + reach - 2])).tolist() == [1000]
    # Beyond reach the peak is out of sight: the beat moves at most `reach`.
    (moved,) = refine_to_peak(lead, FS, np.array([1000 + 2 * reach]))
    assert abs(moved - (1000 + 2 * reach)) <= reach


def test_a_negative_qrs_is_found_as_readily_as_a_positive_one():
    lead = _spike_train(3000, [1000]) - 2.0 * _spike_train(3000, [2000])
    assert refine_to_peak(lead, FS, np.array([1015, 1985])).tolist() == [1000, 2000]


def test_two_marks_on_one_qrs_are_one_beat_and_output_is_sorted():
    lead = _spike_train(4000, [1000, 2000, 3000])
    found = refine_to_peak(lead, FS, np.array([3010, 995, 1010, 1990]))
    assert found.tolist() == [1000, 2000, 3000]
    assert found.dtype == np.int64


def test_peaks_closer_than_min_rr_are_one_beat():
    gap = int(MIN_RR_S * FS)  # 43 samples
    lead = _spike_train(3000, [1000, 1000 + gap - 5, 2000, 2000 + gap + 5], width_s=0.004)
    found = refine_to_peak(lead, FS, np.array([1000, 1000 + gap - 5, 2000, 2000 + gap + 5]))
    assert found.tolist() == [1000, 2000, 2000 + gap + 5]


def test_beats_at_the_record_ends_stay_inside_it():
    # Marked on the first and last samples, their reach runs off the record.
    lead = _spike_train(1000, [15, 985])
    assert refine_to_peak(lead, FS, np.array([0, 999])).tolist() == [15, 985]


def test_no_beats_in_no_beats_out():
    found = refine_to_peak(np.zeros(1000), FS, np.array([], dtype=np.int64))
    assert len(found) == 0 and found.dtype == np.int64


def test_merge_close_measures_from_the_last_beat_kept():
    # 30 is dropped (too close to 0); 60 is 60 from the last kept beat, so it stays even
    # though it is 30 from the dropped one.
    assert merge_close(np.array([0, 30, 60, 80]), 50).tolist() == [0, 60]
    # A beat exactly min_gap after the last one kept stays.
    assert merge_close(np.array([0, 50, 100]), 50).tolist() == [0, 50, 100]
    assert merge_close(np.array([0, 10, 60, 110]), 50).tolist() == [0, 60, 110]
    assert merge_close(np.array([7]), 50).tolist() == [7]
