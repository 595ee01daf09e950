"""Fitting the strip AF call: the threshold is chosen out of fold, the reported F1 scores
each fold with a threshold its own strips did not choose, and unreadable strips are never
called AF. On real CinC strips through the product's own beats, the rows are finite."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from arrhythmia.config import load_params
from arrhythmia.rhythm.strip_features import STRIP_FEATURES
from arrhythmia.training.strip_af import THRESHOLDS, StripRows, af_f1, fit_strip_af, strip_rows

ROOT = Path(__file__).parents[2]
PARAMS = replace(load_params(ROOT / "params.yaml").strip_af, max_iter=30, folds=3)


def _rows(n=120, seed=0, separable=True) -> StripRows:
    rng = np.random.default_rng(seed)
    is_af = np.arange(n) % 4 == 0
    rows = rng.normal(0, 1, (n, len(STRIP_FEATURES)))
    if separable:
        rows[:, STRIP_FEATURES.index("pnn_rel")] += 5 * is_af
    return StripRows([f"A{i:05d}" for i in range(n)], rows, np.ones(n, bool), is_af)


def test_separable_strips_are_learnt_and_the_figures_are_out_of_fold():
    model, metrics = fit_strip_af(_rows(), PARAMS)
    assert metrics["strip_af_f1_cv"] > 0.9
    assert metrics["strip_af_strips"] == 120 and metrics["strip_af_af_strips"] == 30
    assert metrics["strip_af_threshold"] in THRESHOLDS
    fresh = _rows(seed=1)
    called = model.probability(fresh.rows) >= model.threshold
    assert af_f1(called, fresh.is_af) > 0.9


def test_noise_features_learn_nothing_out_of_fold():
    _, metrics = fit_strip_af(_rows(separable=False), PARAMS)
    assert metrics["strip_af_f1_cv"] < 0.6  # in sample, trees would fit the noise


def test_unreadable_strips_are_never_called_af_in_the_figures():
    strips = _rows()
    unreadable = replace(strips, readable=np.zeros(len(strips.names), bool))
    _, metrics = fit_strip_af(unreadable, PARAMS)
    assert metrics["strip_af_f1_cv"] == 0.0 and metrics["strip_af_se_cv"] == 0.0


def test_real_strips_give_finite_rows_through_the_products_beats(bundle, detector_file):
    from arrhythmia.detection.model import QrsDetector
    from arrhythmia.inference.model_handle import load_model

    excerpt = ROOT / "tests" / "data" / "cinc2017_excerpt"
    handle = load_model(str(bundle))
    labels = {"A00009": "A", "A00006": "N"}
    strips = strip_rows(excerpt, handle, QrsDetector.load(detector_file), labels=labels)
    assert strips.names == ["A00006", "A00009"]
    assert strips.is_af.tolist() == [False, True]
    beats = strips.rows[:, STRIP_FEATURES.index("n_beats")]
    assert (beats > 10).all()  # 30-s and 60-s strips: their beats were found
