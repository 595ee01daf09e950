import numpy as np

from arrhythmia.evaluation.beat_matching import match_beats


def test_matches_within_150_ms_nearest_first_each_beat_once():
    fs = 1000.0
    reference = np.array([1000, 2000, 3000, 4000])
    detected = np.array([1140, 1990, 2010, 3200, 4000])
    m = match_beats(reference, detected, fs)
    pairs = sorted(zip(m.reference.tolist(), m.detected.tolist(), strict=False))
    # 1140 is within 150 ms of 1000; 1990 is nearer 2000 than 2010; 3200 is too far
    assert pairs == [(0, 0), (1, 1), (3, 4)]
    assert (m.true_positives, m.missed, m.extra) == (3, 1, 2)


def test_a_detection_between_two_beats_goes_to_the_nearer():
    m = match_beats(np.array([1000, 1200]), np.array([1090, 1200]), 1000.0)
    assert sorted(zip(m.reference.tolist(), m.detected.tolist(), strict=False)) == [(0, 0), (1, 1)]


def test_unsorted_inputs_and_empty_sides():
    m = match_beats(np.array([3000, 1000]), np.array([1005, 2995]), 1000.0)
    assert sorted(zip(m.reference.tolist(), m.detected.tolist(), strict=False)) == [(0, 1), (1, 0)]
    empty = match_beats(np.array([], dtype=int), np.array([5, 6]), 360.0)
    assert (empty.true_positives, empty.missed, empty.extra) == (0, 0, 2)
    none_found = match_beats(np.array([5, 600]), np.array([], dtype=int), 360.0)
    assert (none_found.true_positives, none_found.missed, none_found.extra) == (0, 2, 0)
