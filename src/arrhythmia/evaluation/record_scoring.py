"""The end-to-end scoring loop: each record diagnosed from its raw signal and scored against
its reference beats and rhythm annotations (end_to_end.py), pooled over the records."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from arrhythmia.data.aami import aami_labels
from arrhythmia.data.wfdb_io import read_beats
from arrhythmia.evaluation.end_to_end import (
    beat_confusion,
    pooled_statistics,
    record_row,
    rhythm_counts,
)
from arrhythmia.evaluation.rhythm_scoring import reference_episodes
from arrhythmia.rhythm.episodes import Episode


class Diagnosed(Protocol):
    """What scoring reads of a diagnosis (inference's Diagnosis has it)."""

    samples: np.ndarray
    labels: np.ndarray
    fs: float
    n_samples: int
    episodes: list[Episode]


@dataclass(frozen=True)
class EndToEnd:
    pooled: dict  # pooled_statistics over the records
    rows: list[dict]  # one per record (record_row)


def score_end_to_end(
    records: Sequence[str], raw_dir: str | Path, diagnose: Callable[[Path], Diagnosed]
) -> EndToEnd:
    """Diagnose every record of `raw_dir` with `diagnose` (its path in, its diagnosis out)
    and score it against the record's reference annotations."""
    from tqdm import tqdm

    confusions, rhythms, rows = [], [], []
    for record in tqdm(records, desc="end to end", unit="record"):
        path = Path(raw_dir) / record
        d = diagnose(path)
        beats = read_beats(path)
        reference = aami_labels(beats.symbol)
        confusion = beat_confusion(beats.sample, reference, d.samples, d.labels, d.fs)
        rhythm = rhythm_counts(reference_episodes(str(path), d.n_samples), d.episodes, d.fs)
        confusions.append(confusion)
        rhythms.append(rhythm)
        rows.append(record_row(record, confusion, rhythm))
    return EndToEnd(pooled_statistics(confusions, rhythms), rows)
