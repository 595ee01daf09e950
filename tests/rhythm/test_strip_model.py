"""The learnt strip AF call: its features tell AF from sinus rhythm and from ectopy, it
survives the bundle's plain-data round trip, and an unreadable strip is never called AF."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from arrhythmia.rhythm.episodes import find_episodes
from arrhythmia.rhythm.strip import learnt_call_inputs, strip_af_spans
from arrhythmia.rhythm.strip_features import (
    MISSING,
    STRIP_FEATURES,
    coefficient_of_sample_entropy,
    strip_feature_vector,
)
from arrhythmia.rhythm.strip_model import StripAfModel
from arrhythmia.trees import TreeEnsemble
from tests.helpers import synthetic_strip

FS = 250.0


def _row(rr, p_waves, labels=None, seed=0):
    samples, signal = synthetic_strip(rr, p_waves, FS, seed)
    labels = np.full(len(samples), "N") if labels is None else labels
    proba = np.tile([1.0, 0, 0, 0, 0], (len(samples), 1))
    return strip_feature_vector(samples, labels, proba, FS, signal[:, 0])


def _af_rr(rng, n=40):
    return rng.uniform(0.45, 1.1, n)


def _feature(row, name):
    return row[STRIP_FEATURES.index(name)]


def test_af_is_irregular_without_p_waves_and_sinus_is_neither():
    rng = np.random.default_rng(1)
    af, sinus = _row(_af_rr(rng), p_waves=False), _row(np.full(40, 0.8), p_waves=True)
    assert af.shape == (len(STRIP_FEATURES),)
    assert (af != MISSING).all() and (sinus != MISSING).sum() >= len(STRIP_FEATURES) - 1
    assert _feature(af, "pnn_rel") > 0.5 > _feature(sinus, "pnn_rel")
    assert _feature(af, "irregularity") > 0.1 > _feature(sinus, "irregularity")
    assert _feature(af, "p_template_amp") < _feature(sinus, "p_template_amp")
    assert _feature(af, "p_consec_med") < 0.5 < _feature(sinus, "p_consec_med")


def test_the_beats_of_ectopy_are_counted_apart_from_the_rhythm():
    rr = np.tile([0.5, 1.1], 20)  # bigeminy: every other beat early
    labels = np.array(["N", "V"] * 20 + ["N"])
    row = _row(rr, p_waves=True, labels=labels)
    assert _feature(row, "share_V") == pytest.approx(20 / 41)
    assert _feature(row, "alternation") == 1.0
    assert _feature(row, "clean_share") == 0.0  # no interval without a V beat at one end


def test_cosen_is_higher_for_random_intervals_than_for_steady_ones():
    rng = np.random.default_rng(2)
    steady = 0.8 + rng.normal(0, 0.005, 40)
    assert coefficient_of_sample_entropy(_af_rr(rng)) > coefficient_of_sample_entropy(steady)
    assert np.isnan(coefficient_of_sample_entropy(np.array([0.8, 0.8])))


@pytest.mark.parametrize("n_beats", [0, 2])
def test_a_strip_with_too_few_beats_has_missing_features_not_nan(n_beats):
    samples = np.array([100, 300][:n_beats], dtype=np.int64)
    labels, proba = np.full(n_beats, "N"), np.ones((n_beats, 5)) / 5
    row = strip_feature_vector(samples, labels, proba, FS, np.zeros(2500))
    assert np.isfinite(row).all() and _feature(row, "n_beats") == n_beats
    assert _feature(row, "irregularity") == MISSING and _feature(row, "cosen") == MISSING
    assert _feature(row, "duration") == 10.0


def test_a_strip_at_a_low_rate_is_measured_below_its_nyquist_frequency():
    rng = np.random.default_rng(4)
    samples, signal = synthetic_strip(_af_rr(rng), p_waves=False, fs=64.0)
    proba = np.tile([1.0, 0, 0, 0, 0], (len(samples), 1))
    row = strip_feature_vector(samples, np.full(len(samples), "N"), proba, 64.0, signal[:, 0])
    assert (row != MISSING).all() and _feature(row, "pnn_rel") > 0.5


def _fitted_model(threshold=0.5) -> tuple[StripAfModel, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    rows, truth = [], []
    for i in range(30):
        rows.append(_row(_af_rr(rng), p_waves=False, seed=i)), truth.append(True)
        rows.append(_row(0.8 + rng.normal(0, 0.01, 40), p_waves=True, seed=i)), truth.append(False)
    x, y = np.array(rows), np.array(truth)
    fitted = HistGradientBoostingClassifier(max_iter=20, max_depth=2, random_state=0).fit(x, y)
    return StripAfModel(TreeEnsemble.from_sklearn(fitted), threshold), x, y


def test_the_model_round_trips_through_plain_data_and_refuses_other_features():
    model, x, y = _fitted_model()
    again = StripAfModel.from_dict(model.to_dict())
    assert np.array_equal(again.probability(x), model.probability(x))
    assert ((model.probability(x) >= 0.5) == y).all()
    plain = model.to_dict() | {"feature_names": ["rr_only"]}
    with pytest.raises(ValueError, match="not the ones"):
        StripAfModel.from_dict(plain)
    damaged = model.to_dict()
    damaged["left"] = [len(damaged["left"]) + 5] * len(damaged["left"])
    with pytest.raises(ValueError, match="outside the trees"):
        StripAfModel.from_dict(damaged)
    with pytest.raises(ValueError, match="differ in length"):
        StripAfModel.from_dict(model.to_dict() | {"value": [0.0]})


def _strip(rr, p_waves, seed=0):
    samples, signal = synthetic_strip(rr, p_waves, FS, seed)
    labels = np.full(len(samples), "N")
    return samples, labels, np.tile([1.0, 0, 0, 0, 0], (len(samples), 1)), signal


def test_the_learnt_call_decides_a_strip_and_never_calls_an_unreadable_one_af():
    model, _, _ = _fitted_model()
    rng = np.random.default_rng(9)
    samples, labels, proba, signal = _strip(_af_rr(rng), p_waves=False, seed=99)
    spans = strip_af_spans(samples, labels, FS, signal, [], proba=proba, model=model)
    assert spans.tolist() == [[samples[0], samples[-1] + 1]]
    half = [(0, len(signal) // 2)]  # half the strip unreadable
    assert len(strip_af_spans(samples, labels, FS, signal, half, proba=proba, model=model)) == 0
    samples, labels, proba, signal = _strip(np.full(40, 0.8), p_waves=True, seed=98)
    assert len(strip_af_spans(samples, labels, FS, signal, [], proba=proba, model=model)) == 0


def test_find_episodes_uses_the_learnt_call_where_it_is_given():
    always_af, _, _ = _fitted_model(threshold=0.0)  # every readable strip is AF
    samples, labels, proba, signal = _strip(np.full(40, 0.8), p_waves=True)
    n = len(signal)
    rule = find_episodes(samples, labels, FS, signal, n)
    learnt = find_episodes(samples, labels, FS, signal, n, proba=proba, strip_af=always_af)
    assert "AFIB" not in {e.rhythm for e in rule}
    assert "AFIB" in {e.rhythm for e in learnt}
    row, readable = learnt_call_inputs(samples, labels, proba, FS, signal, [])
    assert np.array_equal(row, strip_feature_vector(samples, labels, proba, FS, signal[:, 0]))
    assert readable
