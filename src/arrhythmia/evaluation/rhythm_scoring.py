"""Rhythm episode scoring against MITDB's rhythm annotations (PhysioNet epicmp conventions).

Conventions
-----------
* Reference episodes come from the ``+`` annotations of the ``.atr`` file: each aux note such
  as ``"(AFIB"`` starts a rhythm that lasts until the next ``+``; before the first one the
  rhythm is "N". A ventricular flutter span marked ``[`` ... ``]`` is "VFL" whatever the
  rhythm annotations say.
* A group of rhythms (e.g. ``{"AFIB", "AFL"}`` for AF) is scored as one: touching episodes of
  the group are one episode.
* Duration Se = overlap / reference time, duration +P = overlap / detected time.
* Episode Se: a reference episode counts as found if any detected episode of the group overlaps
  it; episode +P: a detected episode counts as true if it overlaps any reference episode.
* Durations are in seconds so that records at different rates pool. A ratio whose denominator
  is zero is ``None`` (never NaN). ``skip_s`` drops a learning period at the start of a record
  (the standard tools skip 5 minutes unless told otherwise; 0 scores whole records).
"""

from __future__ import annotations

import numpy as np

from arrhythmia.rhythm.episodes import Episode, merge_touching, paint
from arrhythmia.signal.quality import covered_before, union

COUNT_KEYS = (
    "reference_s",
    "detected_s",
    "overlap_s",
    "reference_episodes",
    "reference_episodes_found",
    "detected_episodes",
    "detected_episodes_true",
)


def reference_episodes(record_path: str, n_samples: int) -> list[Episode]:
    """The reference rhythm episodes of a record: a partition of [0, n_samples)."""
    import wfdb

    ann = wfdb.rdann(str(record_path), "atr")
    samples = np.asarray(ann.sample, dtype=np.int64)
    symbols = list(ann.symbol)
    notes = [(note or "").rstrip("\x00").strip() for note in ann.aux_note]

    rhythm_at = [
        (int(s), n.lstrip("(")) for s, y, n in zip(samples, symbols, notes, strict=True) if y == "+"
    ]
    if not rhythm_at or rhythm_at[0][0] > 0:
        # before the first rhythm annotation (or with none at all): MITDB's default rhythm.
        # A first note late in a record (CUDB's "(VF" at its end) holds from there, not from 0.
        rhythm_at = [(0, "N"), *rhythm_at]
    starts = [s for s, _ in rhythm_at]
    ends = starts[1:] + [n_samples]
    episodes = [
        Episode(name, max(0, start), min(end, n_samples))
        for (_, name), start, end in zip(rhythm_at, starts, ends, strict=True)
        if min(end, n_samples) > max(0, start)
    ]
    return _overlay(episodes, _flutter_spans(samples, symbols, n_samples), "VFL", n_samples)


def _flutter_spans(samples: np.ndarray, symbols: list[str], n_samples: int) -> list[tuple]:
    """Spans from each "[" (start of ventricular flutter) to the next "]" (or the record end)."""
    spans, start = [], None
    for sample, symbol in zip(samples, symbols, strict=True):
        if symbol == "[" and start is None:
            start = int(sample)
        elif symbol == "]" and start is not None:
            spans.append((start, int(sample)))
            start = None
    if start is not None:
        spans.append((start, n_samples))
    return spans


def _overlay(
    episodes: list[Episode], spans: list[tuple], rhythm: str, n_samples: int
) -> list[Episode]:
    """Episodes (a partition of the record) with ``rhythm`` painted over ``spans``."""
    layers = [(ep.rhythm, np.array([[ep.start, ep.end]])) for ep in episodes]
    layers.append((rhythm, np.asarray(spans, dtype=np.int64).reshape(-1, 2)))
    return merge_touching(paint(n_samples, layers))


def _group_spans(episodes: list[Episode], rhythms: set[str], skip: int) -> np.ndarray:
    """(k, 2) sorted spans of the group's episodes after the learning period, touching ones
    joined."""
    spans = [(max(ep.start, skip), ep.end) for ep in episodes if ep.rhythm in rhythms]
    joined = union([(s, e) for s, e in spans if e > s])
    return np.array(joined, dtype=np.int64).reshape(-1, 2)


def _overlaps(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Overlap (samples) of each span of ``a`` with the union of ``b``, and whether each span
    of ``a`` meets any span of ``b`` (sorted, disjoint spans; linear-logarithmic time)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros(len(a), dtype=np.int64), np.zeros(len(a), dtype=bool)
    overlap = covered_before(b, a[:, 1]) - covered_before(b, a[:, 0])
    return overlap, overlap > 0


def episode_scores(
    reference: list[Episode],
    detected: list[Episode],
    rhythms: set[str],
    skip_s: float = 0.0,
    fs: float = 360.0,
) -> dict:
    """Duration and episode Se / +P of one record for one group of rhythms, with raw counts."""
    skip = int(round(skip_s * fs))
    ref = _group_spans(reference, rhythms, skip)
    det = _group_spans(detected, rhythms, skip)
    overlap, found = _overlaps(ref, det)
    _, true = _overlaps(det, ref)
    counts = {
        "reference_s": float((ref[:, 1] - ref[:, 0]).sum() / fs),
        "detected_s": float((det[:, 1] - det[:, 0]).sum() / fs),
        "overlap_s": float(overlap.sum() / fs),
        "reference_episodes": len(ref),
        "reference_episodes_found": int(found.sum()),
        "detected_episodes": len(det),
        "detected_episodes_true": int(true.sum()),
    }
    return _with_ratios(counts)


def pool(scores: list[dict]) -> dict:
    """Gross statistics: durations and episode counts summed over records, ratios recomputed."""
    return _with_ratios({key: sum(s[key] for s in scores) for key in COUNT_KEYS})


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def _with_ratios(counts: dict) -> dict:
    return {
        **counts,
        "duration_se": _ratio(counts["overlap_s"], counts["reference_s"]),
        "duration_ppv": _ratio(counts["overlap_s"], counts["detected_s"]),
        "episode_se": _ratio(counts["reference_episodes_found"], counts["reference_episodes"]),
        "episode_ppv": _ratio(counts["detected_episodes_true"], counts["detected_episodes"]),
    }
