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


def test_ectopic_f_scores_are_ec57s_f_scores_for_stacked_confusions():
    from arrhythmia.evaluation.ec57 import confusion, ec57_statistics, ectopic_f_scores

    def f_score(stats, prefix):  # EC57's Se and +P; 0 where either is undefined
        se, pp = stats[f"{prefix}_se"], stats[f"{prefix}_pp"]
        return 0.0 if np.isnan(se) or np.isnan(pp) or se + pp == 0 else 2 * se * pp / (se + pp)

    rng = np.random.default_rng(4)
    pairs = [(rng.integers(0, 5, 60), rng.integers(0, 5, 60)) for _ in range(5)]
    pairs.append((np.zeros(6, int), np.zeros(6, int)))  # no S or V beat at all: 0, not NaN
    stacked = np.stack([confusion(t, p) for t, p in pairs])
    expected = [
        [f_score(ec57_statistics(m), "sveb"), f_score(ec57_statistics(m), "veb")] for m in stacked
    ]
    np.testing.assert_allclose(ectopic_f_scores(stacked), expected, rtol=1e-15)
    assert ectopic_f_scores(stacked).shape == (6, 2) and (ectopic_f_scores(stacked)[-1] == 0).all()


def _patients(seed: int = 20, n: int = 10):
    """S beats whose S probability differs patient by patient, and V beats: each patient
    wants its own offsets, and the plain best and the bagged ones differ (seed 20)."""
    rng = np.random.default_rng(seed)
    labels, records, proba = [], [], []
    for record in range(n):
        level, n_s, n_n, n_v = rng.uniform(0.15, 0.6), 15, 80, 8
        p_s = np.r_[rng.normal(level, 0.08, n_s), rng.normal(0.15, 0.08, n_n),
                    rng.uniform(0.05, 0.3, n_v)].clip(0.01, 0.9)  # fmt: skip
        p_v = np.r_[rng.uniform(0, 0.1, n_s + n_n), rng.uniform(0.3, 0.9, n_v)]
        p_v = np.minimum(p_v, 1 - p_s - 0.01)
        rows = np.zeros((len(p_s), 5))
        rows[:, 0], rows[:, 1], rows[:, 2] = 1 - p_s - p_v, p_s, p_v
        labels += [1] * n_s + [0] * n_n + [2] * n_v
        records += [f"r{record}"] * len(rows)
        proba.append(rows)
    return np.vstack(proba), np.array(labels), np.array(records)


GRID = np.arange(-1, 2.01, 0.25)


def test_a_bagged_offset_is_the_median_of_the_best_offsets_of_patient_resamples():
    from arrhythmia.training.calibration import bagged_candidate, best_candidate, bias_candidates

    proba, labels, records = _patients()
    log_p = np.log(np.clip(proba, 1e-8, None))
    candidates = bias_candidates(GRID)

    def predicted(bias):
        return (log_p + bias).argmax(axis=1)

    chosen = bagged_candidate(candidates, predicted, labels, records, n_boot=7, seed=3)
    # by hand: the same resamples, each patient's beats repeated as often as it was drawn
    names = np.unique(records)
    draws = np.random.default_rng(3).multinomial(len(names), np.full(len(names), 0.1), size=7)
    picks = []
    for draw in draws:
        rows = np.concatenate([
            np.tile(np.flatnonzero(records == r), k) for r, k in zip(names, draw, strict=True)
        ])  # fmt: skip
        picks.append(
            best_candidate(
                candidates, lambda b, rows=rows: predicted(b)[rows], labels[rows], validation_score
            )
        )
    assert len({tuple(p) for p in picks}) > 1  # the resamples disagree: the median decides
    np.testing.assert_array_equal(chosen, np.median(picks, axis=0))
    again = bagged_candidate(candidates, predicted, labels, records, n_boot=7, seed=3)
    np.testing.assert_array_equal(again, chosen)  # the same predictions, the same offsets


def test_one_chooser_picks_the_best_or_the_bagged_offset_as_records_are_given():
    from arrhythmia.training.calibration import (
        bagged_candidate,
        best_candidate,
        bias_candidates,
        chosen_candidate,
    )

    proba, labels, records = _patients()
    log_p = np.log(np.clip(proba, 1e-8, None))
    candidates = bias_candidates(GRID)

    def predicted(bias):
        return (log_p + bias).argmax(axis=1)

    best = best_candidate(candidates, predicted, labels, validation_score)
    bagged = bagged_candidate(candidates, predicted, labels, records)
    assert not np.array_equal(best, bagged)  # these patients tell the two apart
    chosen = chosen_candidate(candidates, predicted, labels, validation_score)
    np.testing.assert_array_equal(chosen, best)
    chosen = chosen_candidate(candidates, predicted, labels, validation_score, records)
    np.testing.assert_array_equal(chosen, bagged)


def test_bagged_offsets_are_tuned_and_cross_fitted_over_records():
    from arrhythmia.training.calibration import cross_fitted_bias

    proba, labels, records = _patients()
    best, _ = tune_bias(proba, labels, validation_score, GRID)
    bagged, score = tune_bias(proba, labels, validation_score, GRID, records=records)
    assert bagged[1] != best[1]  # these patients' plain best S offset is not their bagged one
    assert score == validation_score(labels, apply_bias(proba, bagged).argmax(axis=1))
    folds = np.isin(records, ["r0", "r1", "r2", "r3", "r4"]).astype(int)
    adjusted = cross_fitted_bias(proba, labels, folds, validation_score, GRID, records=records)
    bagging_mattered = []
    for fold in (0, 1):  # each fold's offsets come from the other fold's patients alone
        other = folds != fold
        theirs, _ = tune_bias(
            proba[other], labels[other], validation_score, GRID, records=records[other]
        )
        np.testing.assert_allclose(adjusted[~other], apply_bias(proba[~other], theirs))
        plain, _ = tune_bias(proba[other], labels[other], validation_score, GRID)
        bagging_mattered.append(not np.array_equal(plain, theirs))
    assert any(bagging_mattered)
