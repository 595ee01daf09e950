"""Patient-wise folds inside DS1: whole records are held out, never single beats."""

from __future__ import annotations

import numpy as np

from arrhythmia.data.aami import AAMI_CLASSES

S, V = AAMI_CLASSES.index("S"), AAMI_CLASSES.index("V")


def patient_folds(records: np.ndarray, labels: np.ndarray, n_folds: int) -> dict[str, int]:
    """Assign each record to a fold so that every fold gets a similar share of S beats,
    of V beats and of beats overall: greedy packing of the three loads as a vector (each
    record goes where the largest share after adding it is smallest), largest records
    first; deterministic."""
    names = sorted(set(records.tolist()))
    if n_folds < 2 or n_folds > len(names):
        raise ValueError(f"n_folds must be between 2 and {len(names)}, got {n_folds}")
    counts = np.array(
        [np.bincount(labels[records == r], minlength=len(AAMI_CLASSES)) for r in names]
    )
    parts = np.column_stack([counts[:, S], counts[:, V], counts.sum(axis=1)]).astype(float)
    shares = parts / np.maximum(parts.sum(axis=0), 1.0)
    load = np.zeros((n_folds, shares.shape[1]))
    assignment: dict[str, int] = {}
    for i in sorted(range(len(names)), key=lambda i: (-shares[i].max(), names[i])):
        after = load + shares[i]
        fold = min(range(n_folds), key=lambda f: (after[f].max(), after[f].sum(), f))
        assignment[names[i]] = fold
        load[fold] = after[fold]
    return assignment
