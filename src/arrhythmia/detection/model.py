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
from arrhythmia.trees import TreeEnsemble

DETECTOR_FORMAT = "arrhythmia-qrs-detector"
DETECTOR_VERSION = 1


class DetectorFileError(ArrhythmiaError):
    """A QRS detector file this version cannot read."""


# Candidates the trees neither keep nor drop with confidence. Clean ECG has few; noise, many
# (on DS1 cross-fitted, 63 % of the extra detections lie in the 2.2 % of 10-s windows with 8
# or more of them): how `signal.quality.doubtful_stretches` finds noisy stretches (before it
# grows them over touching windows with a few).
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
