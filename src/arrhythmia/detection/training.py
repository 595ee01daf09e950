"""Fitting the QRS candidate classifier on records with reference beats (DS1 only), and
choosing its keep threshold on predictions for records it was not fitted on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arrhythmia.data.wfdb_io import read_beats, read_ecg
from arrhythmia.detection.candidates import Candidates, find_candidates
from arrhythmia.detection.features import candidate_features
from arrhythmia.detection.model import QrsDetector, TreeEnsemble
from arrhythmia.evaluation.beat_matching import MATCH_S, match_beats
from arrhythmia.signal.ecg import primary_lead_first

THRESHOLDS = np.round(np.arange(0.20, 0.81, 0.05), 2)


@dataclass(frozen=True)
class LabelledCandidates:
    record: str
    fs: float
    sample: np.ndarray
    features: np.ndarray
    is_beat: np.ndarray  # the match of a reference beat: what the trees learn
    reference: np.ndarray  # reference beat positions: what the threshold is scored on


def label_candidates(candidates: Candidates, reference: np.ndarray, fs: float) -> np.ndarray:
    """True where a candidate is the match of a reference beat (within MATCH_S, one
    candidate a beat). Candidates the leads agree on claim their beat first, then those
    of the other leads alone, then those of the primary lead alone: a fixed order, since
    which of two unfused detections of one beat is "the" beat is a coin toss that moved
    the cross-fitted DS1 figures by a few tenths of a point."""
    tolerance = int(MATCH_S * fs)
    reference = np.sort(reference)
    used = np.zeros(len(reference), dtype=bool)
    is_beat = np.zeros(len(candidates.sample), dtype=bool)
    votes = candidates.votes
    rank = np.where(votes.sum(axis=1) >= min(2, votes.shape[1]), 0, np.where(votes[:, 0], 2, 1))
    order = np.argsort(rank, kind="stable")
    for i in order:
        s = candidates.sample[i]
        lo, hi = np.searchsorted(reference, [s - tolerance, s + tolerance + 1])
        free = [k for k in range(lo, hi) if not used[k]]
        if free:
            used[min(free, key=lambda k: abs(reference[k] - s))] = True
            is_beat[i] = True
    return is_beat


def labelled_candidates(
    record: str, signal: np.ndarray, fs: float, reference: np.ndarray
) -> LabelledCandidates:
    candidates = find_candidates(signal, fs)
    return LabelledCandidates(
        record=record, fs=fs, sample=candidates.sample,
        features=candidate_features(signal, fs, candidates),
        is_beat=label_candidates(candidates, reference, fs), reference=np.asarray(reference),
    )  # fmt: skip


@dataclass(frozen=True)
class TreeSettings:
    seed: int = 0
    max_iter: int = 300
    learning_rate: float = 0.05
    max_leaf_nodes: int = 63


def fit_trees(data: Sequence[LabelledCandidates], settings: TreeSettings) -> TreeEnsemble:
    """Gradient-boosted trees; early stopping on a 10 % split of the candidates (seeded)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    x = np.concatenate([d.features for d in data])
    y = np.concatenate([d.is_beat for d in data])
    model = HistGradientBoostingClassifier(
        max_iter=settings.max_iter, learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes, random_state=settings.seed, early_stopping=True,
    )  # fmt: skip
    return TreeEnsemble.from_sklearn(model.fit(x, y))


def choose_threshold(data: Sequence[LabelledCandidates], probabilities: Sequence[np.ndarray]):
    """The threshold that maximises min(Se, +P), pooled over records and scored as EC57
    does, with the scores per threshold (each record's probabilities come from a model not
    fitted on it)."""
    table = {}
    for threshold in THRESHOLDS:
        matches = [
            match_beats(d.reference, d.sample[p >= threshold], d.fs)
            for d, p in zip(data, probabilities, strict=True)
        ]
        tp = sum(m.true_positives for m in matches)
        n_reference = sum(m.n_reference for m in matches)
        n_kept = sum(m.n_detected for m in matches)
        table[float(threshold)] = (tp / max(n_reference, 1), tp / max(n_kept, 1))
    best = max(table, key=lambda t: min(table[t]))
    return best, table


def fit_detector(
    data: Iterable[LabelledCandidates], settings: TreeSettings = TreeSettings()
) -> tuple[QrsDetector, dict]:
    """Trees fitted on all records; the threshold chosen by two-fold cross-fitting over
    records (alternate records in each half)."""
    data = list(data)
    halves = (data[::2], data[1::2])
    probabilities = []
    for held_out, fitted_on in ((halves[0], halves[1]), (halves[1], halves[0])):
        trees = fit_trees(fitted_on, settings)
        probabilities += [trees.proba(d.features) for d in held_out]
    threshold, table = choose_threshold(halves[0] + halves[1], probabilities)
    detector = QrsDetector(trees=fit_trees(data, settings), threshold=threshold)
    return detector, {"threshold": threshold, "cross_fitted": table}


def labelled_records(
    raw_dir: str | Path, records: Sequence[str], *, progress: bool = True
) -> list[LabelledCandidates]:
    """Candidates of MITDB-style records (primary lead first) against their `.atr` beats."""
    from tqdm import tqdm

    raw_dir = Path(raw_dir)
    out = []
    for record in tqdm(records, desc="QRS candidates", unit="record", disable=not progress):
        ecg = primary_lead_first(read_ecg(raw_dir / record))
        reference = read_beats(raw_dir / record).sample
        out.append(labelled_candidates(record, ecg.signal, ecg.fs, reference))
    return out
