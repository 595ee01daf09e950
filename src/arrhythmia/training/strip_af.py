"""Fitting the learnt AF call of short strips (:mod:`arrhythmia.rhythm.strip_model`) on the
CinC 2017 strips: each strip is read, its beats found and classified as the product does,
and its feature row computed (:func:`arrhythmia.rhythm.strip.learnt_call_inputs`). The AF
threshold maximises F1 out of fold; the reported F1 scores each fold with trees and a
threshold fitted and chosen on the other folds only. The tree settings, the features and the
readable gate were chosen on the same strips, so the F1 is not free of every choice."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from arrhythmia.config import StripAfParams
from arrhythmia.data.readers import RecordError
from arrhythmia.data.records import RecordSelection, cinc2017_reference
from arrhythmia.detection.model import QrsDetector
from arrhythmia.errors import ArrhythmiaError
from arrhythmia.inference.diagnose import classified_records
from arrhythmia.inference.model_handle import ModelHandle, classifier_handle
from arrhythmia.inference.predict import read_lead_first
from arrhythmia.rhythm.strip import learnt_call_inputs
from arrhythmia.rhythm.strip_features import MISSING, STRIP_FEATURES
from arrhythmia.rhythm.strip_model import StripAfModel
from arrhythmia.signal.quality import union
from arrhythmia.trees import TreeEnsemble, gradient_boosted_trees

THRESHOLDS = np.round(np.arange(0.1, 0.905, 0.025), 3)  # AF probability thresholds searched
STRIPS_AT_ONCE = 64  # strips whose beats are classified in one model call
MAX_REFUSED_SHARE = 0.1  # of the strips (CinC 2017: 7 of 2 842 under 10 s): more, bad data


class StripDataError(ArrhythmiaError):
    """The strips to learn from are missing or mostly unreadable."""


@dataclass(frozen=True)
class StripRows:
    names: list[str]
    rows: np.ndarray  # (n, len(STRIP_FEATURES))
    readable: np.ndarray  # (n,) bool: the product makes a call (read, enough clean beats)
    is_af: np.ndarray  # (n,) bool: the reference label is A


def strip_rows(
    folder: Path,
    model: ModelHandle,
    detector: QrsDetector,
    labels: dict[str, str] | None = None,
) -> StripRows:
    """The feature row of every strip in `labels` (name -> CinC label; default: those the
    package lists), read from `folder`. A strip the product refuses (under 10 s, no readable
    lead) gets no call; a missing file, or a folder of many strips the product refuses, stops
    here (a model that learnt from no strip must not ship)."""
    labels = cinc2017_reference() if labels is None else labels
    names = sorted(labels)
    missing = [n for n in names if not (folder / f"{n}.hea").is_file()]
    if missing:
        raise StripDataError(f"{folder}: {len(missing)} strip(s) missing, {missing[0]} first")
    rows = np.full((len(names), len(STRIP_FEATURES)), MISSING)
    readable = np.zeros(len(names), dtype=bool)
    refused = 0
    with tqdm(total=len(names), desc="strip features", unit="strip", mininterval=5) as bar:
        for first in range(0, len(names), STRIPS_AT_ONCE):
            group = names[first : first + STRIPS_AT_ONCE]
            at, read = _read_strips(folder, group, first)
            refused += len(group) - len(at)
            for i, (ecg, _, _), beats in zip(
                at, read, classified_records(read, model, detector), strict=True
            ):
                rows[i], readable[i] = learnt_call_inputs(
                    beats.samples,
                    beats.labels,
                    beats.proba,
                    ecg.fs,
                    ecg.signal,
                    union(beats.unreadable, beats.noisy),
                )
            bar.update(len(group))
    if refused > MAX_REFUSED_SHARE * len(names):
        raise StripDataError(
            f"{folder}: {refused} of {len(names)} strips cannot be read or are refused "
            f"(at most {MAX_REFUSED_SHARE:.0%} may be): are these the CinC 2017 strips?"
        )
    is_af = np.array([labels[n] == "A" for n in names])
    return StripRows(names, rows, readable, is_af)


def _read_strips(folder: Path, names: list[str], first: int) -> tuple[list[int], list[tuple]]:
    """The positions (from `first`) and the records, as the product reads them (with their
    quality; no reference beats), of the strips it does not refuse (under 10 s, no
    readable lead)."""
    at, read = [], []
    for i, name in enumerate(names, start=first):
        try:
            read.append((*read_lead_first(folder / name), None))
            at.append(i)
        except RecordError:
            continue
    return at, read


def af_f1(called: np.ndarray, truth: np.ndarray) -> float:
    return float(2 * np.sum(called & truth) / max(called.sum() + truth.sum(), 1))


def _folds(truth: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return list(split.split(np.zeros(len(truth)), truth))


def out_of_fold(x: np.ndarray, truth: np.ndarray, params: StripAfParams) -> np.ndarray:
    """AF probability of each strip from trees fitted on the other folds."""
    p = np.zeros(len(truth))
    for train, test in _folds(truth, params.folds, params.seed):
        trees = gradient_boosted_trees(params).fit(x[train], truth[train])
        p[test] = trees.predict_proba(x[test])[:, 1]
    return p


def best_threshold(p: np.ndarray, truth: np.ndarray, readable: np.ndarray) -> float:
    scores = [af_f1((p >= t) & readable, truth) for t in THRESHOLDS]
    return float(THRESHOLDS[int(np.argmax(scores))])


def fit_strip_af(strips: StripRows, params: StripAfParams) -> tuple[StripAfModel, dict]:
    """The model fitted on every strip, and its cross-validated figures (each outer fold
    scored with a threshold chosen on the others' own out-of-fold predictions)."""
    x, truth, readable = strips.rows, strips.is_af, strips.readable
    called = np.zeros(len(truth), dtype=bool)
    # outer folds drawn apart from the inner ones, so no inner split repeats an outer one
    for train, test in _folds(truth, params.folds, params.seed + 1):
        inner = out_of_fold(x[train], truth[train], params)
        threshold = best_threshold(inner, truth[train], readable[train])
        p = gradient_boosted_trees(params).fit(x[train], truth[train]).predict_proba(x[test])[:, 1]
        called[test] = (p >= threshold) & readable[test]
    threshold = best_threshold(out_of_fold(x, truth, params), truth, readable)
    trees = TreeEnsemble.from_sklearn(gradient_boosted_trees(params).fit(x, truth))
    metrics = {
        "strip_af_f1_cv": af_f1(called, truth),
        "strip_af_se_cv": float(np.sum(called & truth) / max(truth.sum(), 1)),
        "strip_af_ppv_cv": float(np.sum(called & truth) / max(called.sum(), 1)),
        "strip_af_threshold": threshold,
        "strip_af_strips": len(truth),
        "strip_af_af_strips": int(truth.sum()),
    }
    return StripAfModel(trees, threshold), metrics


def fit_after_classifier(
    classifier, paths, subset, params: StripAfParams
) -> tuple[StripAfModel, dict]:
    """The strip AF call as the train stage fits it after `classifier` (a BeatClassifier):
    the CinC strips in `paths.cinc2017_raw_dir` (those `subset` selects) read, their beats
    found by `paths.qrs_detector` and classified by it, then :func:`fit_strip_af`."""
    handle = classifier_handle(classifier, paths.model)
    detector = QrsDetector.load(paths.qrs_detector)
    labels = RecordSelection.from_params(subset).cinc2017_labels()
    strips = strip_rows(Path(paths.cinc2017_raw_dir), handle, detector, labels)
    return fit_strip_af(strips, params)
