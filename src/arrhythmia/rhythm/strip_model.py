"""The learnt AF call of a short strip: gradient-boosted trees over the strip's features
(:mod:`arrhythmia.rhythm.strip_features`), fitted on the CinC 2017 strips by the train stage
(:mod:`arrhythmia.training.strip_af`) and carried in the model bundle as plain arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arrhythmia.rhythm.strip_features import STRIP_FEATURES
from arrhythmia.trees import TreeEnsemble

_TREE_FIELDS = ("feature", "threshold", "left", "right", "value", "roots")


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
        out = {name: getattr(self.trees, name).tolist() for name in _TREE_FIELDS}
        out.update(
            baseline=self.trees.baseline,
            max_depth=self.trees.max_depth,
            af_threshold=self.threshold,
            feature_names=list(self.feature_names),
        )
        return out

    @classmethod
    def from_dict(cls, plain: dict) -> StripAfModel:
        """The model `to_dict` wrote; ValueError where its features are not this version's."""
        names = tuple(plain["feature_names"])
        if names != STRIP_FEATURES:
            raise ValueError("its strip features are not the ones this version computes")
        dtypes = dict(feature=np.int32, left=np.int32, right=np.int32, roots=np.int32)
        arrays = {n: np.asarray(plain[n], dtype=dtypes.get(n, np.float64)) for n in _TREE_FIELDS}
        _check_nodes(arrays, len(names))
        trees = TreeEnsemble(
            **arrays, baseline=float(plain["baseline"]), max_depth=int(plain["max_depth"])
        )
        return cls(trees, float(plain["af_threshold"]), names)


def _check_nodes(arrays: dict[str, np.ndarray], n_features: int) -> None:
    """ValueError where the node arrays could not describe trees: a damaged model must fail
    when it is loaded, not in the middle of a diagnosis."""
    n = len(arrays["feature"])
    if any(arrays[name].shape != (n,) for name in _TREE_FIELDS if name != "roots"):
        raise ValueError("its node arrays differ in length")
    split = arrays["feature"] >= 0
    children = np.concatenate([arrays["left"][split], arrays["right"][split], arrays["roots"]])
    if (
        (arrays["feature"] >= n_features).any()
        or ((children < 0) | (children >= n)).any()
        or not np.isfinite(arrays["threshold"]).all()
        or not np.isfinite(arrays["value"]).all()
    ):
        raise ValueError("a node points outside the trees or holds no number")
