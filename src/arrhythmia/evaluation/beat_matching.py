"""Matching detected beats to reference beats, as EC57's beat-by-beat comparison does: a
detection within the matching window of a reference beat is that beat's match, nearest
first, each detection and each reference beat used at most once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MATCH_S = 0.15  # EC57's matching window


@dataclass(frozen=True)
class BeatMatch:
    reference: np.ndarray  # (n_matched,) indices into the reference beats
    detected: np.ndarray  # (n_matched,) indices into the detected beats, paired with the above
    n_reference: int
    n_detected: int

    @property
    def true_positives(self) -> int:
        return len(self.reference)

    @property
    def missed(self) -> int:
        return self.n_reference - len(self.reference)

    @property
    def extra(self) -> int:
        return self.n_detected - len(self.detected)


def match_beats(reference: np.ndarray, detected: np.ndarray, fs: float) -> BeatMatch:
    """Pairs (reference index, detection index) within MATCH_S, closest pairs first.

    Both inputs are sample positions at the same rate; they need not be sorted."""
    reference = np.asarray(reference, dtype=np.int64)
    detected = np.asarray(detected, dtype=np.int64)
    tolerance = int(round(MATCH_S * fs))
    order = np.argsort(detected, kind="stable")
    sorted_detected = detected[order]
    # every pair within the window: each reference beat with the detections near it
    lo = np.searchsorted(sorted_detected, reference - tolerance)
    hi = np.searchsorted(sorted_detected, reference + tolerance, side="right")
    counts = hi - lo
    ref_index = np.repeat(np.arange(len(reference)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    det_sorted_index = np.repeat(lo, counts) + offsets
    distance = np.abs(sorted_detected[det_sorted_index] - reference[ref_index])
    ref_used = np.zeros(len(reference), dtype=bool)
    det_used = np.zeros(len(detected), dtype=bool)
    pairs = []
    for k in np.lexsort((ref_index, distance)):
        r, d = ref_index[k], det_sorted_index[k]
        if not ref_used[r] and not det_used[d]:
            ref_used[r] = det_used[d] = True
            pairs.append((r, order[d]))
    matched = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return BeatMatch(matched[:, 0], matched[:, 1], len(reference), len(detected))
