"""Binary gradient-boosted trees as plain arrays: exported from scikit-learn, evaluated with
numpy, so a model file holds numbers only (the QRS detector's trees, the strip AF call's, the
VT/VF presence's)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK_ROWS = 4096  # rows scored at once: bounded memory on a day's windows


@dataclass(frozen=True)
class TreeEnsemble:
    """Binary gradient-boosted trees, all nodes of all trees in flat arrays."""

    feature: np.ndarray  # (n_nodes,) int32; -1 at leaves
    threshold: np.ndarray  # (n_nodes,) float64: go left when x <= threshold
    left: np.ndarray  # (n_nodes,) int32, absolute node index
    right: np.ndarray  # (n_nodes,) int32
    value: np.ndarray  # (n_nodes,) float64, the leaf's raw score
    roots: np.ndarray  # (n_trees,) int32
    baseline: float
    max_depth: int

    @classmethod
    def from_sklearn(cls, model) -> TreeEnsemble:
        """From a fitted binary `HistGradientBoostingClassifier` (numerical features)."""
        parts, roots, offset, depth = [], [], 0, 0
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            leaf = nodes["is_leaf"].astype(bool)
            parts.append(
                (
                    np.where(leaf, -1, nodes["feature_idx"]),
                    nodes["num_threshold"],
                    np.where(leaf, -1, nodes["left"].astype(np.int64) + offset),
                    np.where(leaf, -1, nodes["right"].astype(np.int64) + offset),
                    nodes["value"],
                )
            )
            roots.append(offset)
            offset += len(nodes)
            depth = max(depth, int(nodes["depth"].max()))
        columns = [np.concatenate(c) for c in zip(*parts, strict=True)]
        return cls(
            feature=columns[0].astype(np.int32),
            threshold=columns[1].astype(np.float64),
            left=columns[2].astype(np.int32),
            right=columns[3].astype(np.int32),
            value=columns[4].astype(np.float64),
            roots=np.asarray(roots, dtype=np.int32),
            baseline=float(np.ravel(model._baseline_prediction)[0]),
            max_depth=depth,
        )

    def decision(self, x: np.ndarray) -> np.ndarray:
        """Raw score (log-odds) of each row of x, BLOCK_ROWS rows at a time: every (row,
        tree) pair of a block holds a few numbers, so a day's 86 400 windows at once would
        take several hundred MB."""
        if len(x) <= BLOCK_ROWS:
            return self._block_decision(x)
        return np.concatenate(
            [self._block_decision(x[i : i + BLOCK_ROWS]) for i in range(0, len(x), BLOCK_ROWS)]
        )

    def _block_decision(self, x: np.ndarray) -> np.ndarray:
        """All (row, tree) pairs descend together; those that reached a leaf drop out of
        the next step."""
        n_rows, n_trees = len(x), len(self.roots)
        node = np.tile(self.roots, n_rows)  # (row, tree) pairs, row-major
        row = np.repeat(np.arange(n_rows), n_trees)
        active = np.flatnonzero(self.feature[node] >= 0)
        for _ in range(self.max_depth):
            if len(active) == 0:
                break
            at = node[active]
            go_left = x[row[active], self.feature[at]] <= self.threshold[at]
            node[active] = np.where(go_left, self.left[at], self.right[at])
            active = active[self.feature[node[active]] >= 0]
        return self.baseline + self.value[node].reshape(n_rows, n_trees).sum(axis=1)

    def proba(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision(np.asarray(x, dtype=np.float64))))

    def to_plain(self) -> dict:
        """Plain lists and numbers (what a weights-only model bundle may hold)."""
        out = {name: getattr(self, name).tolist() for name in _NODE_FIELDS}
        out.update(baseline=self.baseline, max_depth=self.max_depth)
        return out

    @classmethod
    def from_plain(cls, plain: dict, n_features: int) -> TreeEnsemble:
        """The trees `to_plain` wrote, over `n_features` features; ValueError where the node
        arrays could not describe such trees: a damaged model must fail when it is loaded,
        not in the middle of a diagnosis."""
        dtypes = dict(feature=np.int32, left=np.int32, right=np.int32, roots=np.int32)
        arrays = {n: np.asarray(plain[n], dtype=dtypes.get(n, np.float64)) for n in _NODE_FIELDS}
        n = len(arrays["feature"])
        if any(arrays[name].shape != (n,) for name in _NODE_FIELDS if name != "roots"):
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
        return cls(**arrays, baseline=float(plain["baseline"]), max_depth=int(plain["max_depth"]))


_NODE_FIELDS = ("feature", "threshold", "left", "right", "value", "roots")


def gradient_boosted_trees(params):
    """An unfitted scikit-learn `HistGradientBoostingClassifier` with the tree settings of
    `params` (max_iter, learning_rate, max_depth, min_samples_leaf, l2_regularization,
    seed), no early stopping: the same trees from the same rows."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=params.max_iter,
        learning_rate=params.learning_rate,
        max_depth=params.max_depth,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        early_stopping=False,
        random_state=params.seed,
    )
