"""No premature (S) beat inside atrial fibrillation or flutter."""

import numpy as np

from arrhythmia.rhythm.consistency import no_premature_in_fibrillation
from arrhythmia.rhythm.episodes import Episode


def _proba(labels):
    classes = "NSVFQ"
    out = np.full((len(labels), 5), 0.05, dtype=np.float32)
    for i, label in enumerate(labels):
        out[i, classes.index(label)] = 0.8
    return out


def test_s_beats_inside_af_or_flutter_become_n_and_nothing_else_moves():
    samples = np.array([100, 300, 500, 700, 900, 1100])
    labels = np.array(["S", "S", "V", "S", "S", "N"])
    proba = _proba(labels)
    episodes = [Episode("N", 0, 200), Episode("AFIB", 200, 800), Episode("AFL", 800, 1000),
                Episode("N", 1000, 1200)]  # fmt: skip

    new_labels, new_proba = no_premature_in_fibrillation(samples, labels, proba, episodes)

    assert new_labels.tolist() == ["S", "N", "V", "N", "N", "N"]
    assert (new_proba.argmax(axis=1) == np.array([1, 0, 2, 0, 0, 0])).all()  # labels = argmax
    np.testing.assert_allclose(new_proba.sum(axis=1), proba.sum(axis=1))  # mass moved, not lost
    assert new_proba[1, 1] == 0.0 and new_proba[1, 0] == np.float32(0.85)
    np.testing.assert_array_equal(new_proba[[0, 2, 5]], proba[[0, 2, 5]])
    assert labels.tolist() == ["S", "S", "V", "S", "S", "N"]  # the inputs are left alone


def test_without_fibrillation_the_labels_are_returned_as_they_are():
    samples = np.array([100, 300])
    labels = np.array(["S", "N"])
    proba = _proba(labels)
    same_labels, same_proba = no_premature_in_fibrillation(
        samples, labels, proba, [Episode("SVTA", 0, 400)]
    )
    assert same_labels is labels and same_proba is proba
