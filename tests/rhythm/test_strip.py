"""A short strip gets one AF call from all its beats: on real CinC 2017 strips, on synthetic
rhythms whose irregularity comes from ectopic beats, and through find_episodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sleepecg

from arrhythmia.data.readers import read_record
from arrhythmia.inference.outputs import dominant_rhythm
from arrhythmia.rhythm.episodes import find_episodes
from arrhythmia.rhythm.strip import (
    StripParams,
    is_atrial_fibrillation,
    strip_af_spans,
    strip_features,
)
from tests.helpers import synthetic_strip

CINC = Path(__file__).parents[1] / "data" / "cinc2017_excerpt"
FS = 250.0


def _beats_of(name: str):
    record = read_record(CINC / name)
    peaks = sleepecg.detect_heartbeats(record.signal[:, 0].astype(float), record.fs)
    return record, np.asarray(peaks, dtype=np.int64), np.full(len(peaks), "N")


def _synthetic(rr_s: np.ndarray, p_waves: bool, seed: int = 0):
    return synthetic_strip(rr_s, p_waves, FS, seed)


@pytest.mark.parametrize(("name", "is_af"), [("A00009", True), ("A00006", False)])
def test_real_strips_are_called_as_their_cardiologists_labelled_them(name, is_af):
    record, samples, labels = _beats_of(name)
    spans = strip_af_spans(samples, labels, record.fs, record.signal, [])
    assert (len(spans) == 1) == is_af
    if is_af:
        assert spans[0, 0] == samples[0] and spans[0, 1] == samples[-1] + 1


def test_an_af_strip_is_one_afib_episode_and_its_dominant_rhythm():
    record, samples, labels = _beats_of("A00009")
    episodes = find_episodes(samples, labels, record.fs, record.signal, len(record.signal))
    afib = [e for e in episodes if e.rhythm == "AFIB"]
    assert len(afib) == 1 and afib[0].end - afib[0].start > 0.9 * (samples[-1] - samples[0])
    seconds = {}
    for e in episodes:
        seconds[e.rhythm] = seconds.get(e.rhythm, 0.0) + (e.end - e.start) / record.fs
    assert dominant_rhythm(seconds) == "AFIB"
    assert dominant_rhythm({}) is None
    # unreadable time is not a rhythm unless it is half of the record or more
    assert dominant_rhythm({"N": 20.0, "NOISE": 25.0, "VT": 5.0}) == "NOISE"
    assert dominant_rhythm({"N": 12.0, "NOISE": 10.0, "SBR": 8.0}) == "N"


def test_irregular_beats_without_p_waves_are_af_and_with_p_waves_are_not():
    rr = np.random.default_rng(1).uniform(0.45, 1.1, 40)
    samples, signal = _synthetic(rr, p_waves=False)
    labels = np.full(len(samples), "N")
    assert is_atrial_fibrillation(strip_features(samples, labels, FS, signal), StripParams())
    samples, signal = _synthetic(rr, p_waves=True)
    features = strip_features(samples, labels, FS, signal)
    assert features.p_similarity > 0.6
    assert not is_atrial_fibrillation(features, StripParams())


def test_ectopic_beats_do_not_make_af():
    # premature beats with compensatory pauses: irregular, but the pattern of ectopy
    rr = np.tile([0.9, 0.9, 0.55, 1.25], 10)
    samples, signal = _synthetic(rr, p_waves=False)
    labels = np.full(len(samples), "N")
    features = strip_features(samples, labels, FS, signal)
    assert features.ectopic_pairs >= 0.2
    assert not is_atrial_fibrillation(features, StripParams())
    # the same beats labelled V: their intervals say nothing of the atria
    labels[np.flatnonzero(np.r_[False, rr] == 0.55)] = "V"
    assert not is_atrial_fibrillation(strip_features(samples, labels, FS, signal), StripParams())


def test_an_unreadable_strip_or_too_few_beats_is_not_af():
    rr = np.random.default_rng(2).uniform(0.45, 1.1, 40)
    samples, signal = _synthetic(rr, p_waves=False)
    labels = np.full(len(samples), "N")
    half = [(0, len(signal) // 2)]
    assert len(strip_af_spans(samples, labels, FS, signal, [])) == 1
    assert len(strip_af_spans(samples, labels, FS, signal, half)) == 0
    assert len(strip_af_spans(samples[:5], labels[:5], FS, signal, [])) == 0
    assert strip_features(samples[:2], labels[:2], FS, signal) is None
