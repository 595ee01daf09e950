"""The second stage: among the beats the CNN calls N or S, a logistic regression on the
CNN's S-against-N margin, the beat's timing against long-window RR means and its P wave
against the patient's own beat re-divides the CNN's N + S probability between N and S.

Across patients the CNN misses most ectopic atrial beats: it sees one beat and RR ratios
to recent beats, which are themselves ectopic where APCs are frequent. The long-window
means (+/-5 min, as de Chazal 2004) and the P-wave similarity keep the rhythm information
that transfers between patients. The stage is fitted on the CNN's out-of-fold DS1 output
(patients the CNN had not seen), so it learns how far to trust the CNN there; at
inference it reads the fold models' average, which is a little softer than any one fold
model's out-of-fold output. Beats the CNN calls V, F or Q keep its output. The label is the
argmax of the re-divided probabilities, so a beat the CNN found almost as V-like as N-like
can become V once its N + S mass is split (rare: DS1's VEB figures move by 0.2 points).
Stored as plain numbers: no pickle in the bundle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.models.inputs import SHAPE_FEATURES

N, S = AAMI_CLASSES.index("N"), AAMI_CLASSES.index("S")
# RR context the stage reads (names in arrhythmia.signal.rr.RR_FEATURES), log-scaled
STAGE_RR_FEATURES: tuple[str, ...] = (
    "pre_over_mean_5min",
    "post_over_mean_5min",
    "rr_variability_20s",
)
STAGE_SHAPE_FEATURES: tuple[str, ...] = ("p_similarity", "p_amplitude")  # of every lead
MIN_PROBABILITY = 1e-4  # log-probabilities clipped here: one saturated output must not dominate
MAX_LOGIT = 50.0  # logits clipped here before the sigmoid: exp never overflows


def sigmoid(logit: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -MAX_LOGIT, MAX_LOGIT)))


@dataclass
class LogisticStage:
    """A fitted logistic regression on standardised inputs, stored as plain numbers:
    logit = ((x - mean) / scale) . coef + intercept + offset."""

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    offset: float = 0.0  # decision offset, tuned on the stage's own out-of-fold output

    def logit(self, x: np.ndarray) -> np.ndarray:
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.coef) + self.intercept + self.offset

    @staticmethod
    def reweigh(proba: np.ndarray, logit: np.ndarray) -> np.ndarray:
        """`proba` after the stage's decision, given its logit of every beat."""
        raise NotImplementedError

    def apply(self, proba: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.reweigh(proba, self.logit(x))

    @classmethod
    def fitted(cls, x: np.ndarray, target: np.ndarray, c: float):
        """Class-balanced logistic regression (L2, strength 1/c) of `target` on standardised
        `x`. Deterministic (lbfgs): no seed."""
        from sklearn.linear_model import LogisticRegression

        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale == 0] = 1.0
        if target.all() or not target.any():
            raise ValueError(f"the {cls.__name__} needs both classes among the beats it decides")
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
        model.fit((x - mean) / scale, target)
        return cls(
            mean=mean.tolist(),
            scale=scale.tolist(),
            coef=model.coef_[0].tolist(),
            intercept=float(model.intercept_[0]),
        )


class SupraventricularStage(LogisticStage):
    """P(S | N or S) = sigmoid(logit)."""

    @staticmethod
    def reweigh(proba: np.ndarray, logit: np.ndarray) -> np.ndarray:
        return redivide(proba, logit)

    @classmethod
    def fit(cls, x: np.ndarray, labels: np.ndarray, cnn_proba: np.ndarray, c: float):
        """S against N, over the beats the CNN calls N or S."""
        rows = np.isin(cnn_proba.argmax(axis=1), [N, S])
        return cls.fitted(x[rows], labels[rows] == S, c)


def redivide(cnn_proba: np.ndarray, logit: np.ndarray) -> np.ndarray:
    """The CNN's probabilities with its N + S mass split by sigmoid(logit), for the beats
    the CNN calls N or S; other beats keep the CNN's output."""
    out = cnn_proba.astype(np.float32, copy=True)
    candidates = np.isin(cnn_proba.argmax(axis=1), [N, S])
    mass = cnn_proba[candidates, N] + cnn_proba[candidates, S]
    p_s = sigmoid(logit[candidates])
    out[candidates, S], out[candidates, N] = mass * p_s, mass * (1.0 - p_s)
    return out


def stage_inputs(
    cnn_proba: np.ndarray, rr: np.ndarray, rr_names: Sequence[str], shape: np.ndarray
) -> np.ndarray:
    """(n, 2 + len(STAGE_RR_FEATURES) + 2 * leads) float64: log P(S), log P(N) of the CNN,
    the log RR context and the P-wave features of every lead (shape: shape_features)."""
    names = list(rr_names)
    missing = [name for name in STAGE_RR_FEATURES if name not in names]
    if missing:
        raise ValueError(f"RR features {missing} are not in the dataset: re-run preprocess")
    rr_columns = [names.index(name) for name in STAGE_RR_FEATURES]
    n_shape = len(SHAPE_FEATURES)
    shape_columns = [
        lead * n_shape + SHAPE_FEATURES.index(name)
        for lead in range(shape.shape[1] // n_shape)
        for name in STAGE_SHAPE_FEATURES
    ]
    log_rr = np.log(np.clip(rr[:, rr_columns].astype(np.float64), 1e-3, None))
    log_proba = np.log(np.clip(cnn_proba[:, [S, N]].astype(np.float64), MIN_PROBABILITY, 1.0))
    return np.column_stack([log_proba, log_rr, shape[:, shape_columns].astype(np.float64)])


def out_of_fold_logit(
    x: np.ndarray,
    labels: np.ndarray,
    cnn_proba: np.ndarray,
    groups: np.ndarray,
    c: float,
    stage: type[LogisticStage] = SupraventricularStage,
) -> np.ndarray:
    """The stage's logit of each beat from a fit without its group (record): leave one
    record out."""
    logit = np.zeros(len(labels))
    for group in np.unique(groups):
        held_out = groups == group
        keep = ~held_out
        fitted = stage.fit(x[keep], labels[keep], cnn_proba[keep], c)
        logit[held_out] = fitted.logit(x[held_out])
    return logit
