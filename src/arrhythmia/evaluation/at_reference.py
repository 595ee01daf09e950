"""Labels at the reference beat positions as the product gives them: the classifier's
output, then the rhythm found from those beats (our own detectors, never the reference
rhythm annotations) and no premature beat inside atrial fibrillation or flutter."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.data.wfdb_io import read_ecg
from arrhythmia.rhythm.consistency import no_premature_in_fibrillation
from arrhythmia.rhythm.episodes import find_episodes
from arrhythmia.signal.ecg import primary_lead_first
from arrhythmia.signal.quality import assess_quality


def rhythm_consistent(
    raw_dir: str | Path, records: np.ndarray, samples: np.ndarray, proba: np.ndarray
) -> np.ndarray:
    """`proba` of the beats at `samples` (sorted within each of `records`, read from
    `raw_dir`) with S moved to N inside the AF and flutter episodes found in each record."""
    out = proba.copy()
    classes = np.array(AAMI_CLASSES)
    for record in dict.fromkeys(records.tolist()):
        rows = np.flatnonzero(records == record)
        ecg = primary_lead_first(read_ecg(Path(raw_dir) / record))
        labels = classes[proba[rows].argmax(axis=1)]
        unreadable = assess_quality(ecg.signal, ecg.fs).unreadable
        episodes = find_episodes(samples[rows], labels, ecg.fs, ecg.signal, len(ecg.signal),
                                 unreadable)  # fmt: skip
        _, out[rows] = no_premature_in_fibrillation(samples[rows], labels, proba[rows], episodes)
    return out
