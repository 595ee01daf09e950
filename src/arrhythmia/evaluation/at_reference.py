"""Labels at the reference beat positions as the product gives them: the classifier's
output, then the rhythm found from those beats (our own detectors, never the reference
rhythm annotations) and no premature beat inside atrial fibrillation or flutter."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.data.beat_dataset import dataset_ecg
from arrhythmia.data.records import TEST_SPLIT
from arrhythmia.evaluation.ec57 import evaluate_predictions, single_out_statistics
from arrhythmia.rhythm.consistency import no_premature_in_fibrillation
from arrhythmia.rhythm.episodes import Episode, RhythmParams, find_episodes
from arrhythmia.rhythm.strip_model import StripAfModel
from arrhythmia.rhythm.ventricular import VentricularModel
from arrhythmia.signal.ecg import EcgRecord
from arrhythmia.signal.quality import assess_quality

DEFAULT_RHYTHM = RhythmParams()  # the product's rhythm settings


def record_rhythm(
    ecg: EcgRecord,
    samples: np.ndarray,
    proba: np.ndarray,
    *,
    strip_af: StripAfModel | None,
    ventricular: VentricularModel | None = None,
    params: RhythmParams = DEFAULT_RHYTHM,
) -> tuple[list[Episode], np.ndarray]:
    """The rhythm episodes a diagnosis finds in `ecg` from the beats at `samples` (sorted)
    with class probabilities `proba`, the learnt `strip_af` call and `ventricular` trees;
    and `proba` with S moved to N inside the AF and flutter episodes among them."""
    labels = np.array(AAMI_CLASSES)[proba.argmax(axis=1)]
    episodes = find_episodes(
        samples,
        labels,
        ecg.fs,
        ecg.signal,
        len(ecg.signal),
        assess_quality(ecg.signal, ecg.fs).unreadable,
        proba=proba,
        strip_af=strip_af,
        ventricular=ventricular,
        params=params,
    )
    _, consistent = no_premature_in_fibrillation(samples, labels, proba, episodes)
    return episodes, consistent


def rhythm_consistent(
    read_record: Callable[[str], EcgRecord],
    records: np.ndarray,
    samples: np.ndarray,
    proba: np.ndarray,
    *,
    strip_af: StripAfModel | None,
    ventricular: VentricularModel | None = None,
    params: RhythmParams = DEFAULT_RHYTHM,
) -> np.ndarray:
    """`proba` of the beats at `samples` (sorted within each of `records`, whose ECG
    `read_record` gives at the samples' rate) with S moved to N inside the AF and flutter
    episodes found in each record (:func:`record_rhythm`)."""
    out = proba.copy()
    for record in dict.fromkeys(records.tolist()):
        rows = np.flatnonzero(records == record)
        _, out[rows] = record_rhythm(
            read_record(record),
            samples[rows],
            proba[rows],
            strip_af=strip_af,
            ventricular=ventricular,
            params=params,
        )
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
        partial(dataset_ecg, raw_dir),
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
