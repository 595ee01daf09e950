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


def apply_bias(proba: np.ndarray, bias: np.ndarray) -> np.ndarray:
    logits = np.log(np.clip(proba, 1e-8, None)) + bias
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(axis=1, keepdims=True)


def tune_bias(
    proba: np.ndarray,
    labels: np.ndarray,
    score: Callable[[np.ndarray, np.ndarray], float],
    grid: np.ndarray,
    classes: tuple[str, ...] = ("S", "V"),
) -> tuple[np.ndarray, float]:
    """The offsets (one per AAMI class; 0 for classes not tuned) that maximise `score` of
    the argmax predictions; ties keep the offsets closest to zero."""
    log_p = np.log(np.clip(proba, 1e-8, None))
    index = [AAMI_CLASSES.index(c) for c in classes]
    best_bias, best_score = np.zeros(len(AAMI_CLASSES)), -np.inf
    candidates = sorted(itertools.product(grid, repeat=len(index)), key=lambda b: np.abs(b).sum())
    for values in candidates:
        bias = np.zeros(len(AAMI_CLASSES))
        bias[index] = values
        s = score(labels, (log_p + bias).argmax(axis=1))
        if s > best_score + 1e-12:
            best_bias, best_score = bias, s
    return best_bias, float(best_score)


def cross_fitted_bias(
    proba: np.ndarray,
    labels: np.ndarray,
    folds: np.ndarray,
    score: Callable[[np.ndarray, np.ndarray], float],
    grid: np.ndarray,
) -> np.ndarray:
    """Out-of-fold predictions with offsets that never saw the fold they are applied to:
    for each fold, offsets tuned on the other folds' predictions. Scoring these keeps the
    reported DS1-validation figure honest about the tuning."""
    adjusted = np.empty_like(proba)
    for fold in np.unique(folds):
        held_out = folds == fold
        bias, _ = tune_bias(proba[~held_out], labels[~held_out], score, grid)
        adjusted[held_out] = apply_bias(proba[held_out], bias)
    return adjusted
