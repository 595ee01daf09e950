"""QRS candidates: a fast single-lead detector (sleepecg) run on every lead, its detections
fused across leads. A beat that one lead misses in noise is usually found on another; what
only one lead finds is kept as a candidate for the classifier to judge."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FUSE_S = 0.10  # detections on different leads closer than this are one candidate


@dataclass(frozen=True)
class Candidates:
    sample: np.ndarray  # (n,) int64, sorted
    votes: np.ndarray  # (n, n_leads) bool: which leads detected it


def lead_detections(signal: np.ndarray, fs: float) -> list[np.ndarray]:
    """sleepecg's detections on each lead (a flat lead gives none)."""
    import sleepecg

    found = []
    for lead in range(signal.shape[1]):
        x = np.ascontiguousarray(signal[:, lead], dtype=np.float64)
        if np.ptp(x) <= 0 or len(x) < int(2 * fs):
            found.append(np.zeros(0, dtype=np.int64))
            continue
        found.append(np.asarray(sleepecg.detect_heartbeats(x, fs), dtype=np.int64))
    return found


def fuse(detections: list[np.ndarray], fs: float) -> Candidates:
    """One candidate per cluster of detections within FUSE_S, at most one per lead; it sits
    at the first lead's detection when that lead found it (the primary lead), else at the
    earliest lead's."""
    n_leads = len(detections)
    lead_of = np.concatenate([np.full(len(d), i) for i, d in enumerate(detections)])
    at = np.concatenate(detections) if n_leads else np.zeros(0, dtype=np.int64)
    order = np.lexsort((lead_of, at))
    at, lead_of = at[order], lead_of[order]
    window = int(round(FUSE_S * fs))
    samples, votes = [], []
    start = None
    for s, lead in zip(at.tolist(), lead_of.tolist(), strict=True):
        if start is None or s - start > window or votes[-1][lead]:
            start = s
            samples.append(s)
            votes.append(np.zeros(n_leads, dtype=bool))
        elif lead < int(np.argmax(votes[-1])):  # a lower-numbered lead sets the position
            samples[-1] = s
        votes[-1][lead] = True
    return Candidates(
        sample=np.asarray(samples, dtype=np.int64),
        votes=np.asarray(votes, dtype=bool).reshape(len(samples), n_leads),
    )


def find_candidates(signal: np.ndarray, fs: float) -> Candidates:
    return fuse(lead_detections(signal, fs), fs)
