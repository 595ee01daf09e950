"""The ventricular stage: among the beats called V, a logistic regression on the V and N
probabilities and the beat's morphology support decides which stay V.

A patient's ectopic ventricular beats come from one focus or a few, so each true V beat has
many look-alikes among the record's other V calls. A noise burst or an odd normal beat that
the network calls V usually has none: it is alike to nothing else called V. The network sees
one beat (and its neighbours) and cannot count look-alikes; the stage can. Support is
counted within a unit (a record, or one 30-minute chunk of a long one: the beats that make
one template), as in training, where each development record is a unit.

A beat the stage does not keep as V gives its V probability to the other classes in their
own proportions, so its label becomes the most likely other class. Fitted, like the
supraventricular stage, on the out-of-fold development output; stored as plain numbers.
"""

from __future__ import annotations

import numpy as np

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.models.stacking import MAX_LOGIT, MIN_PROBABILITY, LogisticStage, sigmoid

N, S, V = (AAMI_CLASSES.index(c) for c in "NSV")
QRS_HALF_S = 0.1  # the stretch whose shape is compared: the QRS, +/- 100 ms of the R peak
ALIKE_CORRELATION = 0.9  # two beats are look-alikes at this correlation or above
ROWS_AT_ONCE = 512  # look-alike counts in blocks: bounded memory for records full of V


def qrs_shapes(windows: np.ndarray, fs: float, window_pre: int) -> np.ndarray:
    """(n, leads * stretch) float64: each beat's QRS stretch, both leads joined, centred and
    scaled to unit norm, so that a dot product is a correlation; a flat stretch is all zeros
    (alike to nothing, itself included)."""
    half = int(round(QRS_HALF_S * fs))
    lo, hi = max(0, window_pre - half), min(windows.shape[-1], window_pre + half)
    shapes = windows[:, :, lo:hi].reshape(len(windows), -1).astype(np.float64)
    shapes -= shapes.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(shapes, axis=1, keepdims=True)
    return shapes / np.where(norm > 0, norm, np.inf)


def morphology_support(
    windows: np.ndarray, units: np.ndarray, called_v: np.ndarray, fs: float, window_pre: int
) -> np.ndarray:
    """(n,) float64: for each beat called V, how many other beats of its unit called V are
    look-alikes (QRS correlation at least ALIKE_CORRELATION); 0 for the other beats."""
    support = np.zeros(len(windows))
    for unit in np.unique(units[called_v]):
        rows = np.flatnonzero(called_v & (units == unit))
        shapes = qrs_shapes(windows[rows], fs, window_pre)
        for first in range(0, len(rows), ROWS_AT_ONCE):
            block = shapes[first : first + ROWS_AT_ONCE]
            alike = (block @ shapes.T >= ALIKE_CORRELATION).sum(axis=1)
            itself = (block * block).sum(axis=1) >= ALIKE_CORRELATION  # 0 for a flat stretch
            support[rows[first : first + ROWS_AT_ONCE]] = alike - itself
    return support


def ventricular_inputs(proba: np.ndarray, support: np.ndarray) -> np.ndarray:
    """(n, 3) float64: log P(V), log P(N) and log(1 + look-alikes)."""
    log_proba = np.log(np.clip(proba[:, [V, N]].astype(np.float64), MIN_PROBABILITY, 1.0))
    return np.column_stack([log_proba, np.log1p(support)])


def stage_rows(proba: np.ndarray) -> np.ndarray:
    """The beats the stage decides on: those called V."""
    return proba.argmax(axis=1) == V


def release_v(proba: np.ndarray, logit: np.ndarray) -> np.ndarray:
    """`proba` with each V-called beat's P(V) scaled by sigmoid(logit) and the rest of it
    spread over the other classes in their own proportions; other beats unchanged."""
    out = proba.astype(np.float32, copy=True)
    rows = stage_rows(proba)
    keep = sigmoid(logit[rows])
    p_v = out[rows, V].astype(np.float64)
    others = out[rows].astype(np.float64)
    others[:, V] = 0.0
    total = others.sum(axis=1, keepdims=True)
    share = others / np.where(total > 0, total, 1.0)
    share[total[:, 0] == 0, N] = 1.0  # nothing else at all: the beat falls to N
    released = share * (p_v * (1.0 - keep))[:, None]
    released[:, V] = p_v * keep
    out[rows] = (others + released).astype(np.float32)
    return out


class VentricularStage(LogisticStage):
    """P(stays V) = sigmoid(((x - mean) / scale) . coef + intercept + offset)."""

    @staticmethod
    def reweigh(proba: np.ndarray, logit: np.ndarray) -> np.ndarray:
        return release_v(proba, logit)

    @classmethod
    def fit(cls, x: np.ndarray, labels: np.ndarray, proba: np.ndarray, c: float):
        """Over the V-called beats of reference class N, S or V (EC57 counts F and Q beats
        called V neither way): V against the rest."""
        rows = stage_rows(proba) & np.isin(labels, [N, S, V])
        target = labels[rows] == V
        if target.all() or not target.any():
            # Nothing to learn from (a development set of a few records): the network's V
            # calls stand (P(V) kept whole), whatever the offset
            width = x.shape[1]
            return cls([0.0] * width, [1.0] * width, [0.0] * width, intercept=MAX_LOGIT)
        return cls.fitted(x[rows], target, c)
