import numpy as np

from arrhythmia.training.calibration import apply_bias, tune_bias
from arrhythmia.training.loop import validation_score


def test_apply_bias_shifts_decisions_and_keeps_probabilities():
    proba = np.array([[0.6, 0.4, 0.0, 0.0, 0.0]])
    moved = apply_bias(proba, np.array([0.0, 1.0, 0.0, 0.0, 0.0]))
    assert moved.argmax() == 1
    np.testing.assert_allclose(moved.sum(axis=1), 1.0)


def test_tuned_offset_recovers_under_called_s_beats():
    # The model gives S beats 0.4 against N's 0.6: without an offset none is called S.
    labels = np.array([0] * 50 + [1] * 10 + [2] * 10)
    proba = np.zeros((70, 5))
    proba[:50] = [0.9, 0.1, 0, 0, 0]
    proba[50:60] = [0.6, 0.4, 0, 0, 0]
    proba[60:] = [0.1, 0, 0.9, 0, 0]
    before = validation_score(labels, proba.argmax(axis=1))
    bias, score = tune_bias(proba, labels, validation_score, np.arange(-1, 2.01, 0.5))
    assert score == 1.0 > before
    assert 0.5 <= bias[1] <= 2.0 and bias[0] == 0.0
    assert validation_score(labels, apply_bias(proba, bias).argmax(axis=1)) == score


def test_no_offset_when_nothing_is_gained():
    labels = np.array([0, 1, 2])
    proba = np.eye(5)[[0, 1, 2]] * 0.9 + 0.02
    bias, score = tune_bias(proba, labels, validation_score, np.arange(-1, 1.01, 0.5))
    np.testing.assert_array_equal(bias, 0.0)
    assert score == 1.0


def test_cross_fitted_offsets_come_from_the_other_folds_only():
    # Fold 0 needs an S offset, fold 1 has no S beats to learn one from: fold 0's beats must
    # then be scored with fold 1's (zero) offsets, not with offsets fitted on themselves.
    from arrhythmia.training.calibration import cross_fitted_bias

    labels = np.array([0] * 20 + [1] * 5 + [0] * 20)
    proba = np.zeros((45, 5))
    proba[:20] = [0.9, 0.1, 0, 0, 0]
    proba[20:25] = [0.6, 0.4, 0, 0, 0]
    proba[25:] = [0.9, 0.1, 0, 0, 0]
    folds = np.array([0] * 25 + [1] * 20)
    adjusted = cross_fitted_bias(proba, labels, folds, validation_score, np.arange(-1, 2.01, 0.5))
    assert (adjusted[20:25].argmax(axis=1) == 0).all()  # no offset learnt without S beats
    _, in_sample = tune_bias(proba, labels, validation_score, np.arange(-1, 2.01, 0.5))
    assert validation_score(labels, adjusted.argmax(axis=1)) < in_sample
