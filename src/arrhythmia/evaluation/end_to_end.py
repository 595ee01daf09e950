"""The whole diagnosis scored against MITDB's reference annotations, as EC57 does it
(bxb for beats, epicmp for rhythm episodes): detected beats are matched to reference beats
within 150 ms; a reference beat with no match is missed, a detection with no match is
extra, and both count against the class statistics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from arrhythmia.data.aami import AAMI_CLASSES, class_index
from arrhythmia.evaluation.beat_matching import match_beats
from arrhythmia.evaluation.rhythm_scoring import episode_scores, pool
from arrhythmia.rhythm.episodes import Episode

NONE = len(AAMI_CLASSES)  # row: an extra detection; column: a missed reference beat
RHYTHM_GROUPS = {"af": {"AFIB", "AFL"}, "vt": {"VT"}}
_N, _S, _V = (AAMI_CLASSES.index(c) for c in "NSV")


def beat_confusion(
    reference_samples: np.ndarray,
    reference_labels: np.ndarray,
    samples: np.ndarray,
    labels: np.ndarray,
    fs: float,
) -> np.ndarray:
    """6x6 counts: rows reference class (N S V F Q, then "no reference beat"), columns
    detected class (N S V F Q, then "not detected")."""
    ref, det = class_index(reference_labels), class_index(labels)
    m = match_beats(reference_samples, samples, fs)
    counts = np.zeros((NONE + 1, NONE + 1), dtype=np.int64)
    np.add.at(counts, (ref[m.reference], det[m.detected]), 1)
    missed = np.ones(len(ref), dtype=bool)
    missed[m.reference] = False
    np.add.at(counts, (ref[missed], NONE), 1)
    extra = np.ones(len(det), dtype=bool)
    extra[m.detected] = False
    np.add.at(counts, (NONE, det[extra]), 1)
    return counts


def _ratio(num: int, den: int) -> float | None:
    return float(num) / float(den) if den else None


def beat_statistics(counts: np.ndarray) -> dict:
    """Gross QRS, VEB and SVEB Se / +P from a (pooled) 6x6 beat confusion.

    QRS: a matched pair is a true positive whatever its classes. VEB +P counts as false
    positives the reference N and S beats and the extra detections called V (reference F
    and Q beats called V are not penalised, as at reference positions); SVEB likewise with
    N and V. A missed reference V (S) beat is a VEB (SVEB) false negative."""
    matched = int(counts[:NONE, :NONE].sum())
    missed, extra = int(counts[:NONE, NONE].sum()), int(counts[NONE, :NONE].sum())
    out = {
        "qrs_se": _ratio(matched, matched + missed),
        "qrs_pp": _ratio(matched, matched + extra),
        "qrs_tp": matched,
        "qrs_fn": missed,
        "qrs_fp": extra,
    }
    for name, c, others in (("veb", _V, (_N, _S)), ("sveb", _S, (_N, _V))):
        tp = int(counts[c, c])
        fp = int(sum(counts[o, c] for o in others) + counts[NONE, c])
        reference = int(counts[c].sum())
        out |= {
            f"{name}_se": _ratio(tp, reference),
            f"{name}_pp": _ratio(tp, tp + fp),
            f"{name}_tp": tp,
            f"{name}_fn": reference - tp,
            f"{name}_fp": fp,
        }
    return out


def rhythm_counts(reference: list[Episode], detected: list[Episode], fs: float) -> dict:
    """Per rhythm group (AF, VT): durations and episode counts of one record."""
    return {
        group: episode_scores(reference, detected, rhythms, fs=fs)
        for group, rhythms in RHYTHM_GROUPS.items()
    }


def record_row(record: str, confusion: np.ndarray, rhythm: dict[str, dict]) -> dict:
    """One record's line of the end-to-end table."""
    stats = beat_statistics(confusion)
    row = {"record": record}
    row |= {
        k: stats[k]
        for k in ("qrs_se", "qrs_pp", "qrs_fn", "qrs_fp", "veb_se", "veb_pp", "sveb_se", "sveb_pp")
    }
    row |= {f"af_{k}": rhythm["af"][k] for k in ("reference_s", "detected_s", "overlap_s")}
    row |= {f"vt_{k}": rhythm["vt"][k] for k in ("reference_episodes", "detected_episodes")}
    return row


def pooled_statistics(confusions: Sequence[np.ndarray], rhythms: Sequence[dict[str, dict]]) -> dict:
    """Gross figures over records: beats and rhythm durations and episodes summed."""
    counts = np.sum(confusions, axis=0) if confusions else np.zeros((NONE + 1, NONE + 1), int)
    out = beat_statistics(counts)
    for group in RHYTHM_GROUPS:
        pooled = pool([r[group] for r in rhythms])
        out |= {f"{group}_{key}": value for key, value in pooled.items()}
    out["n_records"] = len(confusions)
    out["beat_confusion"] = counts.tolist()
    return out
