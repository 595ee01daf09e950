"""The learnt strip AF call reads, inside a diagnosis, exactly the row the train stage fits
on, and the diagnosis hands it the beats' probabilities and the model's trees."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from arrhythmia.config import PreprocessParams
from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.detection.model import QrsDetector
from arrhythmia.inference.model_handle import ModelHandle
from arrhythmia.inference.outputs import dominant_rhythm, time_in_rhythm
from arrhythmia.inference.predict import read_and_diagnose
from arrhythmia.rhythm.strip_features import MISSING, STRIP_FEATURES
from arrhythmia.rhythm.strip_model import StripAfModel
from arrhythmia.training.strip_af import strip_rows
from arrhythmia.trees import TreeEnsemble

EXCERPT = Path(__file__).parents[1] / "data" / "cinc2017_excerpt"


def _all_normal(params) -> ModelHandle:
    """A beat classifier that calls every beat N, so every clean strip gets a call."""

    def predict(windows: np.ndarray, rr: np.ndarray, units=None) -> np.ndarray:
        proba = np.zeros((len(windows), len(AAMI_CLASSES)))
        proba[:, AAMI_CLASSES.index("N")] = 1.0
        return proba

    preprocess = PreprocessParams(**asdict(params.preprocess))
    return ModelHandle(predict, 360.0, preprocess, "all N")


class _Recording(StripAfModel):
    """Says AF (threshold 0: a single leaf) and keeps the rows it was asked about."""

    def __init__(self):
        leaf = TreeEnsemble(
            *(np.zeros(1, dtype) for dtype in (np.int32, float, np.int32, np.int32, float)),
            roots=np.zeros(1, np.int32),
            baseline=0.0,
            max_depth=0,
        )
        object.__setattr__(self, "trees", replace(leaf, feature=np.array([-1], np.int32)))
        object.__setattr__(self, "threshold", 0.0)
        object.__setattr__(self, "feature_names", STRIP_FEATURES)
        object.__setattr__(self, "rows", [])

    def is_af(self, row: np.ndarray) -> bool:
        self.rows.append(row)
        return super().is_af(row)


def test_a_diagnosis_asks_the_model_about_the_row_the_train_stage_fits_on(params, detector_file):
    detector = QrsDetector.load(detector_file)
    handle = _all_normal(params)
    fitted = strip_rows(EXCERPT, handle, detector, labels={"A00006": "N", "A00009": "A"})
    assert fitted.readable.all()
    measured = fitted.rows != MISSING
    assert measured.all(axis=0).sum() == len(STRIP_FEATURES)  # every feature measured on both

    recording = _Recording()
    for i, name in enumerate(fitted.names):
        _, d = read_and_diagnose(EXCERPT / name, replace(handle, strip_af=recording), detector)
        assert np.array_equal(recording.rows[-1], fitted.rows[i])
        assert dominant_rhythm(time_in_rhythm(d)) == "AFIB"  # the model's say, not the rule's


def test_without_a_learnt_model_the_threshold_rule_makes_the_call(params, detector_file):
    detector, handle = QrsDetector.load(detector_file), _all_normal(params)

    def call(name: str) -> str | None:
        return dominant_rhythm(
            time_in_rhythm(read_and_diagnose(EXCERPT / name, handle, detector)[1])
        )

    assert call("A00009") == "AFIB" and call("A00006") != "AFIB"
