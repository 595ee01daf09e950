"""Rhythm episode scoring on hand-computed overlaps, and reference episodes from .atr files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arrhythmia.evaluation.rhythm_scoring import episode_scores, pool, reference_episodes
from arrhythmia.rhythm.episodes import Episode

AF = {"AFIB", "AFL"}
REFERENCE = [
    Episode("N", 0, 100),
    Episode("AFIB", 100, 300),
    Episode("N", 300, 500),
    Episode("AFL", 500, 600),  # AFL then AFIB: one AF episode of 200 samples
    Episode("AFIB", 600, 700),
    Episode("N", 700, 1000),
]
DETECTED = [
    Episode("N", 0, 150),
    Episode("AFIB", 150, 350),
    Episode("N", 350, 800),
    Episode("AFIB", 800, 900),
    Episode("N", 900, 1000),
]


def test_duration_and_episode_scores_by_hand():
    s = episode_scores(REFERENCE, DETECTED, AF, fs=100.0)
    # AF reference [100, 300) + [500, 700) = 4 s; detected [150, 350) + [800, 900) = 3 s;
    # overlap [150, 300) = 1.5 s. One of two reference episodes found, one of two detected true.
    assert s["reference_s"] == pytest.approx(4.0)
    assert s["detected_s"] == pytest.approx(3.0)
    assert s["overlap_s"] == pytest.approx(1.5)
    assert (s["reference_episodes"], s["reference_episodes_found"]) == (2, 1)
    assert (s["detected_episodes"], s["detected_episodes_true"]) == (2, 1)
    assert s["duration_se"] == pytest.approx(0.375)
    assert s["duration_ppv"] == pytest.approx(0.5)
    assert s["episode_se"] == pytest.approx(0.5)
    assert s["episode_ppv"] == pytest.approx(0.5)


def test_learning_period_is_skipped():
    s = episode_scores(REFERENCE, DETECTED, AF, skip_s=2.0, fs=100.0)
    # From sample 200: reference [200, 300) + [500, 700), detected [200, 350) + [800, 900).
    assert s["reference_s"] == pytest.approx(3.0)
    assert s["detected_s"] == pytest.approx(2.5)
    assert s["overlap_s"] == pytest.approx(1.0)


def test_touching_is_not_overlapping():
    s = episode_scores([Episode("VT", 0, 10)], [Episode("VT", 10, 20)], {"VT"}, fs=10.0)
    assert s["overlap_s"] == 0 and s["episode_se"] == 0 and s["episode_ppv"] == 0


def test_one_detection_spanning_two_reference_episodes():
    s = episode_scores(REFERENCE, [Episode("AFIB", 0, 1000)], AF, fs=100.0)
    assert s["episode_se"] == 1.0 and s["episode_ppv"] == 1.0
    assert s["duration_se"] == 1.0 and s["duration_ppv"] == pytest.approx(0.4)


def test_zero_denominators_are_none_not_nan():
    s = episode_scores(REFERENCE, DETECTED, {"VT"}, fs=100.0)
    for key in ("duration_se", "duration_ppv", "episode_se", "episode_ppv"):
        assert s[key] is None
    s = episode_scores([], [Episode("VT", 0, 10)], {"VT"}, fs=10.0)
    assert s["episode_se"] is None and s["episode_ppv"] == 0.0


def test_pool_sums_counts_before_the_ratios():
    a = episode_scores(REFERENCE, DETECTED, AF, fs=100.0)
    b = episode_scores([Episode("AFIB", 0, 100)], [Episode("AFIB", 0, 100)], AF, fs=100.0)
    gross = pool([a, b])
    assert gross["reference_s"] == pytest.approx(5.0)
    assert gross["overlap_s"] == pytest.approx(2.5)
    assert gross["duration_se"] == pytest.approx(0.5)
    assert gross["duration_ppv"] == pytest.approx(2.5 / 4.0)
    assert gross["episode_se"] == pytest.approx(2 / 3)
    assert pool([])["duration_se"] is None


def test_reference_episodes_from_rhythm_and_flutter_annotations(tmp_path: Path):
    import wfdb

    sample = np.array([20, 400, 500, 650, 700, 900])
    symbol = ["+", "+", "[", "]", "+", "N"]
    notes = ["(N", "(AFIB", "", "", "(N", ""]
    wfdb.wrann("rec", "atr", sample, symbol=symbol, aux_note=notes, fs=100, write_dir=str(tmp_path))
    episodes = reference_episodes(str(tmp_path / "rec"), 1000)
    assert episodes == [
        Episode("N", 0, 400),  # N before the first note, then "(N": one episode
        Episode("AFIB", 400, 500),
        Episode("VFL", 500, 650),  # "[" ... "]" overrides the rhythm annotation
        Episode("AFIB", 650, 700),
        Episode("N", 700, 1000),
    ]


def test_a_first_rhythm_note_late_in_a_record_holds_from_there(tmp_path: Path):
    import wfdb

    # CUDB: VF marked "[" ... "]", and one "(VF" note near the end of the record
    sample, symbol, notes = np.array([300, 800, 990]), ["[", "]", "+"], ["", "", "(VF"]
    wfdb.wrann("rec", "atr", sample, symbol=symbol, aux_note=notes, fs=100, write_dir=str(tmp_path))
    episodes = reference_episodes(str(tmp_path / "rec"), 1000)
    assert episodes == [
        Episode("N", 0, 300),
        Episode("VFL", 300, 800),
        Episode("N", 800, 990),
        Episode("VF", 990, 1000),
    ]


def test_reference_episodes_of_a_real_excerpt(excerpt_dir: Path):
    episodes = reference_episodes(str(excerpt_dir / "119"), 10800)
    assert episodes == [Episode("N", 0, 7610), Episode("B", 7610, 10800)]
