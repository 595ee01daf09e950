"""The keep-or-drop classifier of QRS candidates as plain arrays: gradient-boosted trees
exported from scikit-learn, evaluated with numpy, saved as an `.npz` that loads without
pickle (so a model file can never run code)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arrhythmia.detection.candidates import Candidates, find_candidates
from arrhythmia.detection.features import FEATURE_NAMES, candidate_features
from arrhythmia.detection.fiducial import refine_to_peak
from arrhythmia.errors import ArrhythmiaError
from arrhythmia.npz import save_npz
from arrhythmia.signal.ecg import EcgRecord
from arrhythmia.signal.resample import resample_positions, resample_record

DETECTOR_FORMAT = "arrhythmia-qrs-detector"
DETECTOR_VERSION = 1


class DetectorFileError(ArrhythmiaError):
    """A QRS detector file this version cannot read."""


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
        """Raw score (log-odds) of each row of x. All (row, tree) pairs descend together;
        those that reached a leaf drop out of the next step."""
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


# Candidates the trees neither keep nor drop with confidence. Clean ECG has few; noise, many
# (on DS1 cross-fitted, 63 % of the extra detections lie in the 2.2 % of 10-s windows with 8
# or more of them): how `signal.quality.doubtful_stretches` finds noisy stretches.
DOUBT = (0.05, 0.95)
MIN_DETECTION_FS = 100  # records sampled slower are upsampled for detection


@dataclass(frozen=True)
class Detection:
    samples: np.ndarray  # the beats, at their R peaks
    doubtful: np.ndarray  # candidate positions whose keep probability lies within DOUBT


@dataclass(frozen=True)
class QrsDetector:
    trees: TreeEnsemble
    threshold: float  # keep a candidate whose probability is at least this
    feature_names: tuple[str, ...] = FEATURE_NAMES

    def keep_probability(self, signal: np.ndarray, fs: float, candidates: Candidates):
        if len(candidates.sample) == 0:
            return np.zeros(0)
        return self.trees.proba(candidate_features(signal, fs, candidates))

    def find(self, signal: np.ndarray, fs: float) -> Detection:
        """The beats in `signal` (n_samples, n_leads) and the candidates left in doubt."""
        signal = np.atleast_2d(np.asarray(signal, dtype=np.float64).T).T
        if fs < MIN_DETECTION_FS:  # sleepecg's 5-30 Hz band needs a higher rate
            up = resample_record(EcgRecord("", fs, signal, ()), MIN_DETECTION_FS)
            found = self.find(up.signal, up.fs)
            return Detection(
                *(
                    np.unique(resample_positions(at, up.fs, fs, len(signal)))
                    for at in (found.samples, found.doubtful)
                )
            )
        candidates = find_candidates(signal, fs)
        p = self.keep_probability(signal, fs, candidates)
        doubtful = (p > DOUBT[0]) & (p < DOUBT[1])
        return Detection(
            samples=refine_to_peak(signal[:, 0], fs, candidates.sample[p >= self.threshold]),
            doubtful=candidates.sample[doubtful],
        )

    def detect(self, signal: np.ndarray, fs: float) -> np.ndarray:
        """R-peak sample positions of the beats in `signal` (n_samples, n_leads)."""
        return self.find(signal, fs).samples

    def save(self, path: str | Path) -> None:
        arrays = {
            k: getattr(self.trees, k)
            for k in ("feature", "threshold", "left", "right", "value", "roots")
        }
        save_npz(
            path,
            {
                **arrays,
                "baseline": np.array(self.trees.baseline),
                "max_depth": np.array(self.trees.max_depth),
                "keep_threshold": np.array(self.threshold),
                "feature_names": np.array(self.feature_names),
                "format": np.array(DETECTOR_FORMAT),
                "format_version": np.array(DETECTOR_VERSION),
            },
        )

    @classmethod
    def load(cls, path: str | Path) -> QrsDetector:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no QRS detector here (run the train_detector stage)")
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except Exception as error:  # zipfile, pickle refusal, truncated file
            raise DetectorFileError(f"{path}: not a QRS detector file ({error})") from None
        if str(data.get("format", "")) != DETECTOR_FORMAT:
            raise DetectorFileError(f"{path}: not an arrhythmia QRS detector file")
        if int(data["format_version"]) != DETECTOR_VERSION:
            raise DetectorFileError(
                f"{path}: QRS detector format version {int(data['format_version'])} is not "
                f"{DETECTOR_VERSION}; re-train it (dvc repro train_detector)"
            )
        names = tuple(str(n) for n in data["feature_names"])
        if names != FEATURE_NAMES:
            raise DetectorFileError(f"{path}: made for other candidate features; re-train it")
        trees = TreeEnsemble(
            feature=data["feature"],
            threshold=data["threshold"],
            left=data["left"],
            right=data["right"],
            value=data["value"],
            roots=data["roots"],
            baseline=float(data["baseline"]),
            max_depth=int(data["max_depth"]),
        )
        return cls(trees=trees, threshold=float(data["keep_threshold"]), feature_names=names)
