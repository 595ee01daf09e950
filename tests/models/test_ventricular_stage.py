"""The ventricular stage: a V call stays V on its probabilities and its look-alikes."""

from __future__ import annotations

import numpy as np

from arrhythmia.models import ventricular_stage
from arrhythmia.models.ventricular_stage import (
    ALIKE_CORRELATION,
    VentricularStage,
    morphology_support,
    release_v,
    ventricular_inputs,
)

N, S, V = 0, 1, 2
FS, PRE, LENGTH = 360.0, 90, 252


def _wide_beat(width_s: float, rng, jitter: float = 0.02) -> np.ndarray:
    t = (np.arange(LENGTH) - PRE) / FS
    beat = np.exp(-0.5 * (t / width_s) ** 2) - 0.4 * np.exp(-0.5 * ((t - 0.05) / width_s) ** 2)
    return np.stack([beat, -beat]) + rng.normal(0, jitter, (2, LENGTH))


def _record(seed=0, n_v=40, n_noise=15, n_n=200):
    """A unit whose true V beats share one wide shape; noise bursts the CNN also calls V,
    each a random shape; and sinus beats the CNN calls N."""
    rng = np.random.default_rng(seed)
    beats = [_wide_beat(0.04, rng) for _ in range(n_v)]
    beats += list(rng.normal(0, 1, (n_noise, 2, LENGTH)))
    beats += [_wide_beat(0.012, rng) for _ in range(n_n)]
    windows = np.stack(beats).astype(np.float32)
    labels = np.array([V] * n_v + [N] * n_noise + [N] * n_n)
    proba = np.tile([0.9, 0.04, 0.03, 0.02, 0.01], (len(labels), 1))
    proba[: n_v + n_noise] = [0.15, 0.05, 0.75, 0.03, 0.02]  # the CNN cannot tell them apart
    return windows, labels, proba.astype(np.float32)


def test_true_v_beats_have_look_alikes_and_noise_bursts_have_none():
    windows, labels, proba = _record()
    called_v = proba.argmax(axis=1) == V
    support = morphology_support(windows, np.zeros(len(labels), int), called_v, FS, PRE)
    n_v = int((labels == V).sum())
    assert (support[:n_v] == n_v - 1).all()  # each true V beat is alike to every other one
    assert (support[n_v:][called_v[n_v:]] == 0).all()
    assert (support[~called_v] == 0).all()  # beats not called V are not counted


def test_look_alikes_are_counted_within_a_unit_only():
    windows, labels, proba = _record(n_noise=0, n_n=0)
    called_v = np.ones(len(labels), dtype=bool)
    units = np.arange(len(labels)) % 2  # two chunks of the same record
    support = morphology_support(windows, units, called_v, FS, PRE)
    assert (support == len(labels) // 2 - 1).all()


def test_the_fitted_stage_releases_the_noise_and_keeps_the_v_beats():
    windows, labels, proba = _record()
    units = np.zeros(len(labels), int)
    support = morphology_support(windows, units, proba.argmax(axis=1) == V, FS, PRE)
    x = ventricular_inputs(proba, support)
    stage = VentricularStage.fit(x, labels, proba, c=1.0)
    out = stage.apply(proba, x)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    predicted = out.argmax(axis=1)
    assert (predicted[labels == V] == V).all()
    assert (predicted[labels == N] == N).all()
    np.testing.assert_allclose(out[proba.argmax(axis=1) == N], proba[proba.argmax(axis=1) == N])


def test_release_v_gives_the_released_mass_to_the_other_classes_in_proportion():
    proba = np.array([[0.1, 0.1, 0.7, 0.05, 0.05], [0.7, 0.1, 0.1, 0.05, 0.05]], np.float32)
    out = release_v(proba, np.array([0.0, -9.0]))  # first: half of P(V) stays
    np.testing.assert_allclose(out[0, V], 0.35, rtol=1e-5)
    # the other 0.35 in the others' 2:2:1:1 proportions
    expected = np.array([0.1, 0.1, 0.05, 0.05]) + 0.35 * np.array([2, 2, 1, 1]) / 6
    np.testing.assert_allclose(out[0, [N, S, 3, 4]], expected, rtol=1e-5)
    np.testing.assert_allclose(out[1], proba[1])  # not called V: untouched
    alone = release_v(np.array([[0.0, 0.0, 1.0, 0.0, 0.0]], np.float32), np.array([-50.0]))
    assert alone.argmax() == N and np.isfinite(alone).all()  # nothing else: falls to N


def test_alike_means_correlated_at_the_threshold():
    rng = np.random.default_rng(3)
    a = _wide_beat(0.04, rng, jitter=0.0)
    far = a + rng.normal(0, 0.5, a.shape)
    windows = np.stack([a, a * 3.0, far]).astype(np.float32)  # the gain does not matter
    support = morphology_support(windows, np.zeros(3, int), np.ones(3, bool), FS, PRE)
    assert support.tolist() == [1.0, 1.0, 0.0]
    assert 0 < ALIKE_CORRELATION < 1


def test_with_nothing_to_learn_from_the_v_calls_stand():
    windows, labels, proba = _record(n_noise=0)  # every V call is a true V beat
    support = morphology_support(windows, np.zeros(len(labels), int), proba.argmax(1) == V, FS, PRE)
    x = ventricular_inputs(proba, support)
    stage = VentricularStage.fit(x, labels, proba, c=1.0)
    stage.offset = -3.0  # the lowest offset the training grid tries
    np.testing.assert_array_equal(stage.apply(proba, x), proba)


def test_look_alikes_are_counted_the_same_in_blocks(monkeypatch):
    windows, labels, proba = _record()
    args = (windows, np.zeros(len(labels), int), proba.argmax(axis=1) == V, FS, PRE)
    whole = morphology_support(*args)
    monkeypatch.setattr(ventricular_stage, "ROWS_AT_ONCE", 3)
    np.testing.assert_array_equal(morphology_support(*args), whole)


def test_a_flat_beat_called_v_has_no_look_alike_and_a_finite_output():
    windows, labels, proba = _record(n_noise=0)
    windows[0] = 0.0  # a flat stretch: alike to nothing, itself included
    units = np.zeros(len(labels), int)
    support = morphology_support(windows, units, proba.argmax(axis=1) == V, FS, PRE)
    assert support[0] == 0 and (support[1 : (labels == V).sum()] >= 1).all()
    x = ventricular_inputs(proba, support)
    assert np.isfinite(x).all()
    stage = VentricularStage.fit(x, labels, proba, c=1.0)  # the fallback: nothing to learn
    assert np.isfinite(stage.apply(proba, x)).all()


def test_no_beats_no_work():
    empty = np.zeros((0, 2, LENGTH), np.float32)
    support = morphology_support(empty, np.zeros(0, int), np.zeros(0, bool), FS, PRE)
    assert support.shape == (0,)
    proba = np.zeros((0, 5), np.float32)
    assert release_v(proba, np.zeros(0)).shape == (0, 5)
