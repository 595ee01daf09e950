"""The learnt AF call of a short strip: gradient-boosted trees over the strip's features
(:mod:`arrhythmia.rhythm.strip_features`), fitted on the CinC 2017 strips by the train stage
(:mod:`arrhythmia.training.strip_af`) and carried in the model bundle as plain arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arrhythmia.rhythm.strip_features import STRIP_FEATURES
from arrhythmia.trees import TreeEnsemble


@dataclass(frozen=True)
class StripAfModel:
    trees: TreeEnsemble
    threshold: float  # AF where the probability is at least this (chosen out of fold)
    feature_names: tuple[str, ...] = STRIP_FEATURES

    def probability(self, rows: np.ndarray) -> np.ndarray:
        """AF probability of each row of features (n, len(feature_names))."""
        return self.trees.proba(np.atleast_2d(rows))

    def is_af(self, row: np.ndarray) -> bool:
        return bool(self.probability(row)[0] >= self.threshold)

    def to_dict(self) -> dict:
        """Plain lists and numbers (what a weights-only bundle may hold)."""
        return {
            **self.trees.to_plain(),
            "af_threshold": self.threshold,
            "feature_names": list(self.feature_names),
        }

    @classmethod
    def from_dict(cls, plain: dict) -> StripAfModel:
        """The model `to_dict` wrote; ValueError where its features are not this version's
        or its trees are damaged."""
        names = tuple(plain["feature_names"])
        if names != STRIP_FEATURES:
            raise ValueError("its strip features are not the ones this version computes")
        trees = TreeEnsemble.from_plain(plain, len(names))
        return cls(trees, float(plain["af_threshold"]), names)
