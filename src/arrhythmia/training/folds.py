"""Patient-wise folds inside DS1: whole records are held out, never single beats."""

from __future__ import annotations

import numpy as np

from arrhythmia.data.aami import AAMI_CLASSES

S, V = AAMI_CLASSES.index("S"), AAMI_CLASSES.index("V")


def patient_folds(records: np.ndarray, labels: np.ndarray, n_folds: int) -> dict[str, int]:
    """Assign each record to a fold so that every fold gets a similar share of S beats,
    V beats and beats overall (greedy bin packing, largest records first; deterministic)."""
    names = sorted(set(records.tolist()))
    if n_folds < 2 or n_folds > len(names):
        raise ValueError(f"n_folds must be between 2 and {len(names)}, got {n_folds}")
    counts = np.array(
        [np.bincount(labels[records == r], minlength=len(AAMI_CLASSES)) for r in names]
    )
    parts = np.column_stack([counts[:, S], counts[:, V], counts.sum(axis=1)]).astype(float)
    shares = parts / np.maximum(parts.sum(axis=0), 1.0)
    weight = shares.sum(axis=1)
    load = np.zeros(n_folds)
    assignment: dict[str, int] = {}
    for i in sorted(range(len(names)), key=lambda i: (-weight[i], names[i])):
        fold = int(np.argmin(load))
        assignment[names[i]] = fold
        load[fold] += weight[i]
    return assignment
