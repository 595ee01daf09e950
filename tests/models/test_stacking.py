"""The second stage: a linear model over the CNN's output and the beat's rhythm and shape."""

from __future__ import annotations

import numpy as np
import pytest

from arrhythmia.models.inputs import SHAPE_FEATURES, shape_features
from arrhythmia.models.stacking import (
    STAGE_RR_FEATURES,
    SupraventricularStage,
    out_of_fold_logit,
    redivide,
    stage_inputs,
)

N, S, V = 0, 1, 2


def _beats(n_sinus=300, n_ectopic=30, n_ventricular=20, seed=0):
    """The CNN calls every N and S beat N; only the long-window RR ratio tells the ectopic
    atrial ones. V beats the CNN gets right."""
    rng = np.random.default_rng(seed)
    labels = np.array([N] * n_sinus + [S] * n_ectopic + [V] * n_ventricular)
    rr = np.ones((len(labels), len(STAGE_RR_FEATURES)), dtype=np.float32)
    rr[:, STAGE_RR_FEATURES.index("pre_over_mean_5min")] = np.where(labels == N, 1.0, 0.72)
    rr *= rng.uniform(0.97, 1.03, rr.shape).astype(np.float32)
    cnn = np.tile([0.7, 0.2, 0.05, 0.03, 0.02], (len(labels), 1))
    cnn[labels == V] = [0.1, 0.05, 0.8, 0.03, 0.02]
    shape = rng.normal(0, 0.01, (len(labels), 2 * len(SHAPE_FEATURES)))
    return stage_inputs(cnn, rr, STAGE_RR_FEATURES, shape), labels, cnn


def test_the_stage_finds_premature_beats_the_cnn_called_normal_and_leaves_v_alone():
    x, labels, cnn = _beats()
    stage = SupraventricularStage.fit(x, labels, cnn, c=1.0)
    proba = stage.apply(cnn, x)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    predicted = proba.argmax(axis=1)
    assert np.mean(predicted[labels == S] == S) > 0.9
    assert np.mean(predicted[labels == N] == N) > 0.9
    np.testing.assert_allclose(proba[labels == V], cnn[labels == V], rtol=1e-6)  # the CNN's


def test_redivide_splits_only_the_n_plus_s_mass():
    cnn = np.array([[0.6, 0.2, 0.1, 0.05, 0.05], [0.1, 0.1, 0.7, 0.05, 0.05]])
    out = redivide(cnn, np.array([0.0, 5.0]))
    np.testing.assert_allclose(out[0], [0.4, 0.4, 0.1, 0.05, 0.05], rtol=1e-6)
    np.testing.assert_allclose(out[1], cnn[1])  # called V: untouched


def test_out_of_fold_logits_come_from_a_fit_without_the_record():
    x, labels, cnn = _beats()
    groups = np.array(["a", "b", "c"])[np.arange(len(labels)) % 3]
    logit = out_of_fold_logit(x, labels, cnn, groups, c=1.0)
    held_out = groups == "b"
    without = SupraventricularStage.fit(x[~held_out], labels[~held_out], cnn[~held_out], c=1.0)
    np.testing.assert_allclose(logit[held_out], without.logit(x[held_out]), rtol=1e-6)
    with_it = SupraventricularStage.fit(x, labels, cnn, c=1.0).logit(x[held_out])
    assert not np.allclose(logit[held_out], with_it)


def test_stage_inputs_name_the_missing_rr_features():
    with pytest.raises(ValueError, match="pre_over_mean_5min"):
        stage_inputs(np.ones((2, 5)) / 5, np.ones((2, 1)), ["pre_rr"], np.zeros((2, 8)))


def test_shape_features_see_a_changed_p_wave_and_a_changed_qrs():
    t = np.arange(252)
    qrs = np.exp(-0.5 * ((t - 90) / 4.0) ** 2)
    p_wave = 0.2 * np.exp(-0.5 * ((t - 50) / 8.0) ** 2)
    sinus = np.stack([qrs + p_wave] * 2)
    no_p = np.stack([qrs] * 2)  # an ectopic atrial beat with a hidden P wave
    wide = np.stack([np.exp(-0.5 * ((t - 90) / 14.0) ** 2) + p_wave] * 2)  # ventricular-like
    windows = np.stack([sinus, no_p, wide]).astype(np.float32)
    templates = np.repeat(sinus[None], 3, axis=0)
    f = shape_features(windows, templates, fs=360.0, window_pre=90)
    named = {name: f[:, i] for i, name in enumerate(SHAPE_FEATURES)}  # lead 0
    assert named["qrs_similarity"][0] == pytest.approx(1.0)
    assert named["p_amplitude"][0] == pytest.approx(0.0, abs=1e-6)
    assert named["p_amplitude"][1] < -1.0  # the P wave is gone
    assert named["qrs_similarity"][2] < named["qrs_similarity"][1]
    assert f.shape == (3, 2 * len(SHAPE_FEATURES)) and np.isfinite(f).all()
