"""Noisy copies of training records: noise at the asked level in NSTDB's periods only, drawn
the same on every run, and used either to fit the trees or to score the threshold, never
both, and never for the record's own cross-fitted trees."""

import numpy as np
import pytest

from arrhythmia.data.wfdb_io import read_beats, read_ecg
from arrhythmia.detection import training
from arrhythmia.detection.noise import add_noise, noisy_periods, qrs_peak_to_peak
from arrhythmia.detection.training import (
    BOTH,
    FIT,
    SCORE,
    LabelledCandidates,
    NoiseSettings,
    TreeSettings,
    labelled_copies,
)
from arrhythmia.signal.ecg import primary_lead_first


@pytest.fixture
def ten_minutes(excerpt_dir):
    """Record 100's 30-s excerpt repeated to 10 minutes, with its beats."""
    ecg = primary_lead_first(read_ecg(excerpt_dir / "100"))
    beats = read_beats(excerpt_dir / "100").sample
    n, times = len(ecg.signal), 20
    signal = np.tile(ecg.signal, (times, 1))
    tiled = np.concatenate([beats + k * n for k in range(times)])
    return signal, ecg.fs, tiled


def test_noise_lies_in_nstdbs_noisy_periods_at_the_asked_level(ten_minutes):
    signal, fs, beats = ten_minutes
    noisy = add_noise(signal, fs, beats, 6.0, np.random.default_rng(0))
    assert noisy.dtype == np.float32 and np.isfinite(noisy).all()
    added = noisy - signal.astype(np.float32)
    on = noisy_periods(len(signal), fs)
    t = np.arange(len(signal)) / fs
    assert not on[t < 300].any() and on[(t >= 300) & (t < 420)].all()
    assert not on[(t >= 420) & (t < 540)].any() and on[t >= 540].all()
    assert np.abs(added[~on]).max() < 1e-6
    for lead in range(signal.shape[1]):
        power = qrs_peak_to_peak(signal[:, lead], fs, beats) ** 2 / 8
        snr = 10 * np.log10(power / np.mean(added[on, lead].astype(np.float64) ** 2))
        assert snr == pytest.approx(6.0, abs=0.3)


def test_noisy_copies_are_drawn_the_same_every_run_and_differ_by_use(ten_minutes):
    signal, fs, beats = ten_minutes
    noise = NoiseSettings(snr_db=(0.0,), seed=3)
    copies = labelled_copies("100", signal, fs, beats, noise)
    assert [(c.use, c.snr_db) for c in copies] == [(BOTH, None), (FIT, 0.0), (SCORE, 0.0)]
    assert {c.record for c in copies} == {"100"}
    fit, score = copies[1], copies[2]
    assert len(fit.sample) != len(score.sample) or not np.array_equal(fit.features, score.features)
    again = labelled_copies("100", signal, fs, beats, noise)
    for a, b in zip(copies, again, strict=True):
        np.testing.assert_array_equal(a.features, b.features)
        np.testing.assert_array_equal(a.is_beat, b.is_beat)


def _synthetic(record: str, use: str, rng, n: int = 400) -> LabelledCandidates:
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = x[:, 0] + 0.3 * rng.normal(size=n) > 0
    return LabelledCandidates(record, 360.0, np.arange(n) * 300, x, y, np.arange(n)[y] * 300, use)


def test_threshold_copies_are_never_fitted_on_and_no_record_fits_its_own_trees(monkeypatch):
    rng = np.random.default_rng(0)
    data = [_synthetic(r, use, rng) for r in ("a", "b", "c", "d") for use in (BOTH, FIT, SCORE)]
    settings = TreeSettings(max_iter=10, max_leaf_nodes=7)

    without_score = [d for d in data if d.use != SCORE]
    np.testing.assert_array_equal(
        training.fit_trees(data, settings).value, training.fit_trees(without_score, settings).value
    )

    fitted_on = {}
    real_fit = training.fit_trees

    def spy(subset, settings):
        trees = real_fit(subset, settings)
        fitted_on[id(trees)] = {d.record for d in subset}
        return trees

    monkeypatch.setattr(training, "fit_trees", spy)
    by_record = training.cross_fitted_trees(data, settings)
    assert set(by_record) == {"a", "b", "c", "d"}
    for record, trees in by_record.items():
        assert record not in fitted_on[id(trees)]
    detector, info = training.fit_detector(data, settings)
    assert info["threshold"] == detector.threshold
    assert set(info["clean"]) == set(info["cross_fitted"])
