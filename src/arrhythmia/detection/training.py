"""Fitting the QRS candidate classifier on records with reference beats (DS1 only), and
choosing its keep threshold on predictions for records it was not fitted on.

Each record may come with noisy copies (`detection.noise`): one set the trees are fitted on,
and one, with other noise, the threshold is scored on beside the clean record."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arrhythmia.data.wfdb_io import read_beats, read_ecg
from arrhythmia.detection.candidates import Candidates, find_candidates
from arrhythmia.detection.features import candidate_features
from arrhythmia.detection.model import QrsDetector, TreeEnsemble
from arrhythmia.detection.noise import add_noise
from arrhythmia.evaluation.beat_matching import MATCH_S, match_beats
from arrhythmia.signal.ecg import primary_lead_first

THRESHOLDS = np.round(np.arange(0.20, 0.81, 0.05), 2)


FIT, SCORE, BOTH = "fit", "score", "both"  # what a copy of a record is used for


@dataclass(frozen=True)
class LabelledCandidates:
    record: str  # the source record: cross-fitting splits by it, noisy copies included
    fs: float
    sample: np.ndarray
    features: np.ndarray
    is_beat: np.ndarray  # the match of a reference beat: what the trees learn
    reference: np.ndarray  # reference beat positions: what the threshold is scored on
    use: str = BOTH  # clean records: BOTH; noisy copies: FIT or SCORE
    snr_db: float | None = None  # None: the clean record


@dataclass(frozen=True)
class NoiseSettings:
    snr_db: tuple[float, ...] = ()  # one noisy copy per level for fitting, one for scoring
    seed: int = 1

    @classmethod
    def from_params(cls, p) -> NoiseSettings:
        """From params.yaml's train_detector section (`config.TrainDetectorParams`)."""
        return cls(snr_db=tuple(p.noise_snr_db), seed=p.noise_seed)


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
    record: str, signal: np.ndarray, fs: float, reference: np.ndarray, **copy
) -> LabelledCandidates:
    candidates = find_candidates(signal, fs)
    return LabelledCandidates(
        record=record,
        fs=fs,
        sample=candidates.sample,
        features=candidate_features(signal, fs, candidates),
        is_beat=label_candidates(candidates, reference, fs),
        reference=np.asarray(reference),
        **copy,
    )


def labelled_copies(
    record: str, signal: np.ndarray, fs: float, reference: np.ndarray, noise: NoiseSettings
) -> list[LabelledCandidates]:
    """The clean record and its noisy copies, each noise drawn from (seed, record, level,
    use): the same copies on every run, and other noise for scoring than for fitting."""
    copies = [labelled_candidates(record, signal, fs, reference)]
    for level, snr in enumerate(noise.snr_db):
        for k, use in enumerate((FIT, SCORE)):
            rng = np.random.default_rng([noise.seed, zlib.crc32(record.encode()), level, k])
            noisy = add_noise(signal, fs, reference, snr, rng)
            copies.append(labelled_candidates(record, noisy, fs, reference, use=use, snr_db=snr))
    return copies


@dataclass(frozen=True)
class TreeSettings:
    seed: int = 0
    max_iter: int = 300
    learning_rate: float = 0.05
    max_leaf_nodes: int = 63

    @classmethod
    def from_params(cls, p) -> TreeSettings:
        """From params.yaml's train_detector section (`config.TrainDetectorParams`)."""
        return cls(p.seed, p.max_iter, p.learning_rate, p.max_leaf_nodes)


def fit_trees(data: Sequence[LabelledCandidates], settings: TreeSettings) -> TreeEnsemble:
    """Gradient-boosted trees on the copies meant for fitting; early stopping on a 10 % split
    of the candidates (seeded)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    data = [d for d in data if d.use != SCORE]
    x = np.concatenate([d.features for d in data])
    y = np.concatenate([d.is_beat for d in data])
    model = HistGradientBoostingClassifier(
        max_iter=settings.max_iter,
        learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes,
        random_state=settings.seed,
        early_stopping=True,
    )
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


def cross_fitted_trees(
    data: Sequence[LabelledCandidates], settings: TreeSettings
) -> dict[str, TreeEnsemble]:
    """For each record, trees fitted on the other half of the records (alternate records
    in each half), never on the record or its copies."""
    records = list(dict.fromkeys(d.record for d in data))
    halves = (records[::2], records[1::2])
    trees = {}
    for held_out, fitted_on in ((halves[0], halves[1]), (halves[1], halves[0])):
        fitted = fit_trees([d for d in data if d.record in fitted_on], settings)
        trees |= dict.fromkeys(held_out, fitted)
    return trees


def fit_detector(
    data: Iterable[LabelledCandidates], settings: TreeSettings = TreeSettings()
) -> tuple[QrsDetector, dict]:
    """Trees fitted on all records; the threshold chosen on two-fold cross-fitted
    predictions, pooled over the clean records and their noisy copies for scoring. Also
    the clean records' figures at each threshold, and the cross-fitted trees by record."""
    data = list(data)
    trees = cross_fitted_trees(data, settings)
    scored = [d for d in data if d.use != FIT]
    probabilities = [trees[d.record].proba(d.features) for d in scored]
    threshold, table = choose_threshold(scored, probabilities)
    clean = [i for i, d in enumerate(scored) if d.snr_db is None]
    _, clean_table = choose_threshold([scored[i] for i in clean], [probabilities[i] for i in clean])
    detector = QrsDetector(trees=fit_trees(data, settings), threshold=threshold)
    info = {"threshold": threshold, "cross_fitted": table, "clean": clean_table}
    return detector, info | {"trees_by_record": trees}


def labelled_records(
    raw_dir: str | Path,
    records: Sequence[str],
    *,
    noise: NoiseSettings = NoiseSettings(),
    progress: bool = True,
) -> list[LabelledCandidates]:
    """Candidates of MITDB-style records (primary lead first) against their `.atr` beats,
    each record followed by its noisy copies."""
    from tqdm import tqdm

    raw_dir = Path(raw_dir)
    out = []
    for record in tqdm(records, desc="QRS candidates", unit="record", disable=not progress):
        ecg = primary_lead_first(read_ecg(raw_dir / record))
        reference = read_beats(raw_dir / record).sample
        out += labelled_copies(record, ecg.signal, ecg.fs, reference, noise)
    return out
