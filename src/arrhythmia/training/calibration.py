"""Decision offsets chosen on out-of-fold DS1 predictions (never on DS2).

Class weights set how much training cares about S and V; where the decision boundary
lands for unseen patients is better chosen on held-out patients. A log-probability offset
per class, searched on a small grid, is that threshold.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.evaluation.ec57 import ectopic_f_scores


def apply_bias(proba: np.ndarray, bias: np.ndarray) -> np.ndarray:
    logits = np.log(np.clip(proba, 1e-8, None)) + bias
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(axis=1, keepdims=True)


# Record resamples of a bagged choice: odd, so that a median of grid values is a grid value.
BOOTSTRAPS = 101
BOOTSTRAP_SEED = 0  # fixed: the same predictions always give the same offsets


def bias_candidates(grid: np.ndarray, classes: tuple[str, ...] = ("S", "V")) -> np.ndarray:
    """Every offset vector of `grid` values for `classes` (0 for the others), closest to
    zero first: (n_candidates, n_classes)."""
    index = [AAMI_CLASSES.index(c) for c in classes]
    values = sorted(itertools.product(grid, repeat=len(index)), key=lambda b: np.abs(b).sum())
    candidates = np.zeros((len(values), len(AAMI_CLASSES)))
    candidates[:, index] = values
    return candidates


def best_candidate(
    candidates: np.ndarray,
    predicted: Callable[[np.ndarray], np.ndarray],
    labels: np.ndarray,
    score: Callable[[np.ndarray, np.ndarray], float],
    min_gain: float = 0.0,
) -> np.ndarray:
    """The first of `candidates` whose `predicted(candidate)` labels score best: a later
    one replaces an earlier one only where it scores more than `min_gain` higher."""
    best, best_score = candidates[0], -np.inf
    for candidate in candidates:
        s = score(labels, predicted(candidate))
        if s > best_score + min_gain:
            best, best_score = candidate, s
    return best


def record_confusions(
    labels: np.ndarray, predicted: np.ndarray, record_index: np.ndarray, n_records: int
) -> np.ndarray:
    """(n_records, 5, 5) confusion matrices (rows = reference), one per record index."""
    k = len(AAMI_CLASSES)
    flat = (record_index * k + labels) * k + predicted
    return np.bincount(flat, minlength=n_records * k * k).reshape(n_records, k, k)


def bagged_candidate(
    candidates: np.ndarray,
    predicted: Callable[[np.ndarray], np.ndarray],
    labels: np.ndarray,
    records: np.ndarray,
    n_boot: int = BOOTSTRAPS,
    seed: int = BOOTSTRAP_SEED,
) -> np.ndarray:
    """The median, value by value, of the best candidates of `n_boot` resamples of the
    records (drawn with replacement), each scored as the mean SVEB and VEB F-score
    (validation_score).

    Near its best, the score is flat over offsets that move many beats: the single best
    offset then lands anywhere on that plateau, as the noise of one training or one
    patient sample has it. The median of the resamples' choices lands near its middle."""
    names, record_index = np.unique(records, return_inverse=True)
    n = len(names)
    per_record = np.stack(
        [record_confusions(labels, predicted(c), record_index, n) for c in candidates]
    )  # (candidates, records, 5, 5)
    weights = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    pooled = np.einsum("br,crij->cbij", weights, per_record)
    # the first best of each resample: the candidates' order breaks ties
    best = ectopic_f_scores(pooled).mean(axis=-1).argmax(axis=0)
    return np.median(candidates[best], axis=0)


def chosen_candidate(
    candidates: np.ndarray,
    predicted: Callable[[np.ndarray], np.ndarray],
    labels: np.ndarray,
    score: Callable[[np.ndarray, np.ndarray], float],
    records: np.ndarray | None = None,
    min_gain: float = 0.0,
) -> np.ndarray:
    """Every decision offset's choice (train.offset_choice): the best candidate
    (:func:`best_candidate`), or, given the beats' `records`, the bagged one
    (:func:`bagged_candidate`, which scores by validation_score whatever `score` is)."""
    if records is None:
        return best_candidate(candidates, predicted, labels, score, min_gain)
    return bagged_candidate(candidates, predicted, labels, records)


def tune_bias(
    proba: np.ndarray,
    labels: np.ndarray,
    score: Callable[[np.ndarray, np.ndarray], float],
    grid: np.ndarray,
    classes: tuple[str, ...] = ("S", "V"),
    records: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """The offsets (one per AAMI class; 0 for classes not tuned) that maximise `score` of
    the argmax predictions, ties (within 1e-12) keeping the offsets closest to zero; with
    `records`, bagged over resamples of them (:func:`chosen_candidate`). Returns them and
    their `score`."""
    log_p = np.log(np.clip(proba, 1e-8, None))

    def predicted(bias: np.ndarray) -> np.ndarray:
        return (log_p + bias).argmax(axis=1)

    bias = chosen_candidate(
        bias_candidates(grid, classes), predicted, labels, score, records, min_gain=1e-12
    )
    return bias, float(score(labels, predicted(bias)))


def cross_fitted_bias(
    proba: np.ndarray,
    labels: np.ndarray,
    folds: np.ndarray,
    score: Callable[[np.ndarray, np.ndarray], float],
    grid: np.ndarray,
    records: np.ndarray | None = None,
) -> np.ndarray:
    """Out-of-fold predictions with offsets that never saw the fold they are applied to:
    for each fold, offsets tuned on the other folds' predictions (bagged over their
    `records` where given). Scoring these keeps the reported figure honest about the tuning."""
    adjusted = np.empty_like(proba)
    for fold in np.unique(folds):
        held_out = folds == fold
        rows = None if records is None else records[~held_out]
        bias, _ = tune_bias(proba[~held_out], labels[~held_out], score, grid, records=rows)
        adjusted[held_out] = apply_bias(proba[held_out], bias)
    return adjusted
