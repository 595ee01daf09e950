"""The learnt presence of VT and VF: its window features, its plain-data round trip, how it
joins the flutter / VT rules (it adds, never removes), and its fitting with out-of-fold
figures on records it did not learn from."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from arrhythmia.data.readers import read_record
from arrhythmia.inference.diagnose import ClassifiedBeats
from arrhythmia.inference.model_handle import ModelHandle, classifier_handle
from arrhythmia.models.bundle import ModelFileError
from arrhythmia.rhythm.episodes import (
    Episode,
    RhythmParams,
    _in_runs,
    _with_learnt_presence,
    find_episodes,
    ventricular_tachyarrhythmia_spans,
)
from arrhythmia.rhythm.ventricular import (
    CONTEXT_WINDOWS,
    VENTRICULAR_FEATURES,
    VentricularModel,
    feature_settings,
    window_rows,
)
from arrhythmia.signal.ecg import EcgRecord
from arrhythmia.training.ventricular import (
    RecordWindows,
    VentricularDataError,
    fit_ventricular,
)
from arrhythmia.trees import TreeEnsemble
from tests.helpers import tiny_classifier

FS = 250.0
PARAMS = RhythmParams()


def _constant_model(log_odds: float, smooth: int = 5) -> VentricularModel:
    """Trees of one leaf: the same probability for every window."""
    leaf = TreeEnsemble(
        feature=np.array([-1], np.int32),
        threshold=np.zeros(1),
        left=np.array([-1], np.int32),
        right=np.array([-1], np.int32),
        value=np.zeros(1),
        roots=np.array([0], np.int32),
        baseline=log_odds,
        max_depth=0,
    )
    return VentricularModel(leaf, 0.5, smooth)


def _record(seed: int, vf: tuple[float, float] | None, minutes: float = 2.0):
    """A synthetic record: sinus beats at 75 bpm, and within `vf` (seconds) a chaotic 4-6 Hz
    wave of varying amplitude and no beats. Returns the record, its beats and its reference."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * FS)
    signal = rng.normal(0.0, 0.02, n)
    beats = np.arange(int(0.5 * FS), n - int(0.5 * FS), int(0.8 * FS))
    if vf is not None:
        a, b = int(vf[0] * FS), int(vf[1] * FS)
        beats = beats[(beats < a) | (beats >= b)]
        t = np.arange(b - a) / FS
        phase = np.cumsum(2 * np.pi * rng.uniform(4.0, 6.0, b - a) / FS)
        signal[a:b] += (0.4 + 0.3 * np.sin(2 * np.pi * 0.3 * t)) * np.sin(phase)
    for s in beats:
        signal[s - 3 : s + 4] += 1.0
    ecg = EcgRecord(f"synthetic{seed}", FS, signal[:, None], ("MLII",))
    labels = np.full(len(beats), "N")
    proba = np.tile(np.eye(5, dtype=np.float32)[0], (len(beats), 1))
    reference = [Episode("N", 0, n)]
    if vf is not None:
        a, b = int(vf[0] * FS), int(vf[1] * FS)
        reference = [Episode("N", 0, a), Episode("VF", a, b), Episode("N", b, n)]
    return ecg, ClassifiedBeats(beats, labels, proba, [], []), reference


def _windows(seed: int, vf) -> RecordWindows:
    ecg, beats, reference = _record(seed, vf)
    table = window_rows(ecg.signal, FS, beats.samples, beats.labels, [], PARAMS)
    present = np.zeros(len(ecg.signal), dtype=bool)
    for e in reference:
        present[e.start : e.end] = e.rhythm == "VF"
    labels = present[table.centres]
    return RecordWindows("vfdb", ecg.name, ecg, beats, table.rows, labels, reference)


def _handle(params) -> ModelHandle:
    """A classifier's handle: the OOF diagnoses read only its strip AF and VT/VF models."""
    return classifier_handle(tiny_classifier(preprocess=vars(params.preprocess)), "tiny")


def test_every_window_gets_a_finite_row_of_the_named_features(excerpt_dir):
    ecg = read_record(excerpt_dir / "208")  # 30 s, two leads, V beats
    samples = np.arange(200, len(ecg.signal) - 200, 300)
    labels = np.where(np.arange(len(samples)) % 3 == 0, "V", "N")
    table = window_rows(ecg.signal, ecg.fs, samples, labels, [(0, 900)], PARAMS)
    assert table.rows.shape == (len(table.centres), len(VENTRICULAR_FEATURES))
    assert len(table.centres) == 27  # 4-s windows every second over 30 s
    assert np.isfinite(table.rows).all()
    assert (np.diff(table.centres) > 0).all() and table.centres[-1] < len(ecg.signal)
    unreadable = table.rows[:, VENTRICULAR_FEATURES.index("unreadable_share")]
    assert unreadable[0] > 0 and unreadable[-1] == 0  # the first 2.5 s were refused
    # a strip too short for the running median gets no rows: the rules decide alone
    short = ecg.signal[: int((CONTEXT_WINDOWS + 2) * ecg.fs)]
    assert window_rows(short, ecg.fs, samples[:5], labels[:5], [], PARAMS) is None


def test_a_window_without_beats_has_no_rr_figures_not_nan():
    ecg, _, _ = _record(0, vf=None, minutes=0.5)
    table = window_rows(ecg.signal, FS, np.array([], np.int64), np.array([], "<U1"), [], PARAMS)
    beats_per_s = table.rows[:, VENTRICULAR_FEATURES.index("beats_per_s")]
    rr_median = table.rows[:, VENTRICULAR_FEATURES.index("rr_median_s")]
    assert (beats_per_s == 0).all() and (rr_median == -1).all() and np.isfinite(table.rows).all()


def test_the_model_survives_the_bundles_plain_data_and_a_damaged_one_is_refused():
    model = _constant_model(2.0, smooth=3)
    back = VentricularModel.from_dict(model.to_dict())
    rows = np.zeros((7, len(VENTRICULAR_FEATURES)))
    assert np.allclose(back.probability(rows), model.probability(rows))
    assert back.present(rows).all() and back.smooth_windows == 3
    wrong = {**model.to_dict(), "feature_names": ["a", "b"]}
    with pytest.raises(ValueError, match="features"):
        VentricularModel.from_dict(wrong)
    other_windows = {
        **model.to_dict(),
        "feature_settings": feature_settings(replace(PARAMS, vfl_window_s=6.0)),
    }
    with pytest.raises(ValueError, match="features"):
        VentricularModel.from_dict(other_windows)
    damaged = {**model.to_dict(), "roots": [5]}
    classifier = tiny_classifier()
    classifier.ventricular = damaged
    with pytest.raises(ModelFileError, match="damaged ventricular model"):
        classifier.ventricular_model()


def test_the_bundle_carries_the_model(tmp_path):
    from arrhythmia.models.bundle import BeatClassifier

    classifier = tiny_classifier()
    assert classifier.ventricular_model() is None  # none: the rules decide alone
    classifier.ventricular = _constant_model(-1.0).to_dict()
    classifier.save(tmp_path / "m.pt")
    loaded = BeatClassifier.load(tmp_path / "m.pt").ventricular_model()
    assert loaded.to_dict() == _constant_model(-1.0).to_dict()


def test_the_probability_is_averaged_over_the_smoothing_windows():
    # one split on the first feature: probability 0.9 where it is positive, 0.1 elsewhere
    split = TreeEnsemble(
        feature=np.array([0, -1, -1], np.int32),
        threshold=np.array([0.0, 0.0, 0.0]),
        left=np.array([1, -1, -1], np.int32),
        right=np.array([2, -1, -1], np.int32),
        value=np.array([0.0, -np.log(9.0), np.log(9.0)]),
        roots=np.array([0], np.int32),
        baseline=0.0,
        max_depth=1,
    )
    rows = np.zeros((9, len(VENTRICULAR_FEATURES)))
    rows[[4, 5], 0] = 1.0  # two windows the trees like, among seven they do not
    model = VentricularModel(split, 0.5, smooth_windows=3)
    p = model.probability(rows)
    assert np.allclose(p, [0.1, 0.1, 0.1, 1.1 / 3, 1.9 / 3, 1.9 / 3, 1.1 / 3, 0.1, 0.1])
    assert model.present(rows).tolist() == [False] * 4 + [True, True] + [False] * 3
    # the record's edges repeat the first and last window
    assert np.allclose(VentricularModel(split, 0.5, 5).probability(rows[:3]), 0.1)


def test_the_trees_add_to_the_rules_and_remove_nothing():
    present = np.array([1, 1, 1, 0, 0, 1], bool)
    flutter = np.array([1, 0, 0, 1, 0, 0], bool)
    vt = np.array([0, 1, 0, 0, 1, 0], bool)
    in_vt_run = np.array([0, 0, 0, 0, 0, 1], bool)
    new_flutter, new_vt = _with_learnt_presence(present, flutter, vt, in_vt_run, 1)
    # window 2: found by the trees alone, named flutter; 5: inside a V-beat run, left to VT
    assert new_flutter.tolist() == [1, 0, 1, 1, 0, 0]
    assert new_vt.tolist() == vt.tolist()


def _irregular_beats(n_samples: int, seed: int) -> np.ndarray:
    """Non-V beats at RR intervals of 0.5 to 1.1 s (not organised: RR variation over 15 %)."""
    rr = np.random.default_rng(seed).uniform(0.5, 1.1, int(n_samples / FS))
    beats = (np.cumsum(rr) * FS).astype(np.int64)
    return beats[beats < n_samples - FS]


def test_absent_trees_leave_the_rules_as_they_are_and_present_ones_add_flutter():
    ecg, beats, _ = _record(3, vf=(40.0, 80.0))
    args = (ecg.signal, FS, beats.samples, beats.labels, PARAMS)
    rules = ventricular_tachyarrhythmia_spans(*args)
    never = ventricular_tachyarrhythmia_spans(*args, presence=_constant_model(-9.0))
    for a, b in zip(rules, never, strict=True):
        assert np.array_equal(a, b)
    # over regular sinus beats the rules' veto holds for the trees too: nothing is added
    always = ventricular_tachyarrhythmia_spans(*args, presence=_constant_model(9.0))
    outside = [(a, b) for a, b in always[0] if b <= 40 * FS or a >= 80 * FS]
    assert outside == [] and len(rules[0]) > 0
    # over irregular beats (no veto) what the trees find is flutter
    samples = _irregular_beats(len(ecg.signal), 3)
    irregular = (ecg.signal, FS, samples, np.full(len(samples), "N"), PARAMS)
    added = ventricular_tachyarrhythmia_spans(*irregular, presence=_constant_model(9.0))
    alone = ventricular_tachyarrhythmia_spans(*irregular)
    covered = [sum(end - start for start, end in spans[0]) for spans in (added, alone)]
    # (some 4-s windows of random intervals are regular enough for the veto)
    assert covered[0] > 0.5 * len(ecg.signal) > covered[1]


def test_a_fast_run_of_v_beats_stays_vt_between_learnt_flutter():
    ecg, _, _ = _record(4, vf=None)
    samples = _irregular_beats(len(ecg.signal), 4)
    start = np.searchsorted(samples, 50 * FS)
    run = samples[start] + np.arange(16) * int(0.5 * FS)  # 8 s of V beats at 120 bpm
    samples = np.sort(np.r_[samples[samples < run[0]], run, samples[samples > run[-1] + FS]])
    labels = np.where(np.isin(samples, run), "V", "N")
    flutter, _ = ventricular_tachyarrhythmia_spans(
        ecg.signal, FS, samples, labels, PARAMS, presence=_constant_model(9.0)
    )
    run_end = run[-1] + int(0.5 * FS)
    assert not any(start < run_end and end > run[0] for start, end in flutter)  # none over it
    assert any(end <= run[0] for _, end in flutter) and any(s >= run[-1] for s, _ in flutter)


def test_fitted_trees_find_vf_in_records_they_did_not_learn_from(params):
    records = [_windows(seed, (30.0 + 5 * seed, 70.0 + 5 * seed)) for seed in range(4)]
    records.append(_windows(9, None))
    settings = replace(params.ventricular, max_iter=40, min_samples_leaf=5, folds=5)
    model, metrics = fit_ventricular(records, _handle(params), settings)
    assert metrics["vtvf_records"] == 5 and metrics["vtvf_present_windows"] > 100
    figures = [v for k, v in metrics.items() if k.startswith("vtvf_cv_")]
    assert "vtvf_cv_vfdb_vf_duration_se" in metrics and all(0 <= v <= 1 for v in figures)
    unseen = _windows(11, (20.0, 60.0))
    p = model.probability(unseen.rows)
    assert p[unseen.present].mean() > 0.8 > 0.2 > p[~unseen.present].mean()
    # fitted trees, splits and all, survive the bundle's plain data
    assert model.trees.max_depth > 0
    assert np.array_equal(VentricularModel.from_dict(model.to_dict()).probability(unseen.rows), p)


def test_no_record_is_scored_by_trees_that_learnt_from_it(params, monkeypatch):
    from arrhythmia.training import ventricular as training

    records = [_windows(seed, (30.0, 60.0)) for seed in range(5)]
    learnt_from, fitted, scored = [], [], []
    real_fit, real_diagnosis = training._fit, training.diagnosis_of_beats

    def fit(chosen, settings):
        learnt_from.append({r.name for r in chosen})
        fitted.append(real_fit(chosen, settings))
        return fitted[-1]

    def diagnosis(ecg, beats, handle):
        assert handle.ventricular is fitted[-1] is not None  # the fold's own trees
        scored.append((ecg.name, learnt_from[-1]))
        return real_diagnosis(ecg, beats, handle)

    monkeypatch.setattr(training, "_fit", fit)
    monkeypatch.setattr(training, "diagnosis_of_beats", diagnosis)
    settings = replace(params.ventricular, max_iter=5, min_samples_leaf=5, folds=3)
    training.out_of_fold_scores(records, _handle(params), settings)
    assert sorted(name for name, _ in scored) == sorted(r.name for r in records)
    assert all(name not in trained for name, trained in scored)
    assert all(len(trained) >= 3 for _, trained in scored)  # the other folds' records


def test_no_trees_are_fitted_from_records_without_vt_or_vf(params):
    records = [_windows(seed, None) for seed in range(2)]
    with pytest.raises(VentricularDataError, match="none of the 2"):
        fit_ventricular(records, _handle(params), params.ventricular)


def test_a_window_counts_only_in_runs_of_enough_windows():
    flag = np.array([1, 1, 0, 1, 1, 1, 0, 1], bool)
    assert _in_runs(flag, 3).tolist() == [0, 0, 0, 1, 1, 1, 0, 0]
    assert _in_runs(flag, 1).tolist() == flag.tolist()
    assert not _in_runs(flag[:2], 3).any()  # fewer windows than a run


def test_a_learnt_window_too_short_alone_joins_the_rules_flutter_but_never_vt():
    present = np.array([1, 1, 0, 0, 1, 1, 1, 1], bool)
    flutter = np.array([0, 0, 0, 0, 0, 0, 0, 1], bool)
    vt = np.array([0, 0, 1, 1, 1, 0, 0, 0], bool)
    in_vt_run = np.zeros(8, bool)
    new_flutter, new_vt = _with_learnt_presence(present, flutter, vt, in_vt_run, 3)
    # windows 0-1: two alone, too short; 5-6: next to the rules' flutter at 7, kept; 4: VT
    assert new_flutter.tolist() == [0, 0, 0, 0, 0, 1, 1, 1] and new_vt.tolist() == vt.tolist()


def test_the_learnt_trees_leave_a_run_of_v_beats_its_vt_episode():
    ecg, _, _ = _record(5, vf=None)
    samples = _irregular_beats(len(ecg.signal), 5)
    start = np.searchsorted(samples, 50 * FS)
    run = samples[start] + np.arange(16) * int(0.5 * FS)
    samples = np.sort(np.r_[samples[samples < run[0]], run, samples[samples > run[-1] + FS]])
    labels = np.where(np.isin(samples, run), "V", "N")
    args = (samples, labels, FS, ecg.signal, len(ecg.signal))
    alone = [e for e in find_episodes(*args) if e.rhythm == "VT"]
    with_trees = find_episodes(*args, ventricular=_constant_model(9.0))
    assert [e for e in with_trees if e.rhythm == "VT"] == alone and len(alone) == 1
    assert any(e.rhythm == "VFL" for e in with_trees)  # the trees added flutter elsewhere
