"""Which P waves are compared: each normal beat with the previous normal beat."""

import numpy as np

from arrhythmia.rhythm.atrial import p_wave_similarity, sinus_p_wave_similarity

FS = 360.0


def test_normal_beats_are_compared_across_the_ectopic_beats_between_them():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(4000, 1))
    samples = np.array([400, 800, 1200, 1600, 2000, 2400, 2800])
    labels = np.array(["S", "N", "S", "V", "N", "Q", "N"])
    similarity = sinus_p_wave_similarity(signal, FS, samples, labels)
    # ectopic and unknown beats, and the first normal beat, have nothing to compare
    assert np.isnan(similarity[[0, 1, 2, 3, 5]]).all()
    # beat 4 against beat 1, beat 6 against beat 4: what a pair of beats alone gives
    for beat, previous in ((4, 1), (6, 4)):
        pair = p_wave_similarity(signal, FS, samples[[previous, beat]], np.array([True]))
        assert np.isclose(similarity[beat], pair[1], rtol=1e-12, atol=0)


def test_fewer_than_two_normal_beats_compare_nothing():
    signal = np.zeros((2000, 1))
    samples = np.array([400, 800, 1200])
    for labels in (["S", "V", "S"], ["S", "N", "V"]):
        assert np.isnan(sinus_p_wave_similarity(signal, FS, samples, np.array(labels))).all()
