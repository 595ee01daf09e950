"""Labels at the reference beat positions as the product gives them: the classifier's
output, then the rhythm found from those beats (our own detectors, never the reference
rhythm annotations) and no premature beat inside atrial fibrillation or flutter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.data.records import TEST_SPLIT
from arrhythmia.data.wfdb_io import read_ecg
from arrhythmia.evaluation.ec57 import evaluate_predictions, single_out_statistics
from arrhythmia.rhythm.consistency import no_premature_in_fibrillation
from arrhythmia.rhythm.episodes import find_episodes
from arrhythmia.rhythm.strip_model import StripAfModel
from arrhythmia.rhythm.ventricular import VentricularModel
from arrhythmia.signal.ecg import primary_lead_first
from arrhythmia.signal.quality import assess_quality


def rhythm_consistent(
    raw_dir: str | Path,
    records: np.ndarray,
    samples: np.ndarray,
    proba: np.ndarray,
    *,
    strip_af: StripAfModel | None,
    ventricular: VentricularModel | None = None,
) -> np.ndarray:
    """`proba` of the beats at `samples` (sorted within each of `records`, read from
    `raw_dir`) with S moved to N inside the AF and flutter episodes found in each record,
    as a diagnosis with the learnt `strip_af` call and `ventricular` trees (if any) finds
    them."""
    out = proba.copy()
    classes = np.array(AAMI_CLASSES)
    for record in dict.fromkeys(records.tolist()):
        rows = np.flatnonzero(records == record)
        ecg = primary_lead_first(read_ecg(Path(raw_dir) / record))
        labels = classes[proba[rows].argmax(axis=1)]
        unreadable = assess_quality(ecg.signal, ecg.fs).unreadable
        episodes = find_episodes(
            samples[rows],
            labels,
            ecg.fs,
            ecg.signal,
            len(ecg.signal),
            unreadable,
            proba=proba[rows],
            strip_af=strip_af,
            ventricular=ventricular,
        )
        _, out[rows] = no_premature_in_fibrillation(samples[rows], labels, proba[rows], episodes)
    return out


@dataclass(frozen=True)
class AtReference:
    """The test set's beats at the reference positions, as the product labels them."""

    records: np.ndarray
    y_true: np.ndarray  # int64 class indices
    proba: np.ndarray  # after rhythm_consistent
    y_pred: np.ndarray
    metrics: dict  # evaluate_predictions, plus the single-out records' figures


def score_at_reference(
    arrays: Mapping[str, np.ndarray],
    classifier,
    raw_dir: str | Path,
    single_out: Sequence[str],
) -> AtReference:
    """The beat dataset's test-split beats classified by `classifier` (a BeatClassifier),
    made rhythm-consistent with their records in `raw_dir`, and scored."""
    test = arrays["split"] == TEST_SPLIT
    records = arrays["record"][test]
    y_true = arrays["label"][test].astype(np.int64)
    proba = classifier.predict_proba(
        arrays["windows"][test], arrays["rr"][test], arrays["rr_names"], records
    )
    proba = rhythm_consistent(
        raw_dir,
        records,
        arrays["sample"][test],
        proba,
        strip_af=classifier.strip_af_model(),
        ventricular=classifier.ventricular_model(),
    )
    y_pred = proba.argmax(axis=1)
    metrics = evaluate_predictions(y_true, y_pred)
    metrics.update(single_out_statistics(records, y_true, y_pred, single_out))
    return AtReference(records, y_true, proba, y_pred, metrics)
