"""Model inputs from beat windows: the beat, the beat against the patient's own dominant
beat, and RR features on a log scale. Shared by training, evaluation and inference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def record_templates(windows: np.ndarray, record_ids: np.ndarray) -> np.ndarray:
    """Per-beat copy of its record's dominant beat (the median window of the record).

    The median over all of a record's beats is the patient's usual beat in most records,
    so `beat - template` shows how far a beat departs from that patient's normal shape,
    which transfers across patients better than the raw morphology.
    """
    templates = np.empty_like(windows)
    for record in np.unique(record_ids):
        mask = record_ids == record
        templates[mask] = np.median(windows[mask], axis=0)
    return templates


def beat_channels(windows: np.ndarray, record_ids: np.ndarray) -> np.ndarray:
    """(n, 2 * n_leads, L) float32: the beat's leads, then beat minus template per lead."""
    templates = record_templates(windows, record_ids)
    return np.concatenate([windows, windows - templates], axis=1).astype(np.float32)


def rr_inputs(rr: np.ndarray, rr_names: Sequence[str], selected: Sequence[str]) -> np.ndarray:
    """The selected RR features, log-scaled so that ratios are centred on 0."""
    names = list(rr_names)
    missing = [name for name in selected if name not in names]
    if missing:
        raise ValueError(f"RR features {missing} are not in the dataset ({names})")
    columns = [names.index(name) for name in selected]
    return np.log(np.clip(rr[:, columns], 1e-3, None)).astype(np.float32)
