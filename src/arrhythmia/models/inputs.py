"""Model inputs from beat windows: the beat, the beat against the patient's own dominant
beat, and RR features on a log scale. Shared by training, evaluation and inference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TEMPLATE_RULES = ("all", "non_premature")
MIN_TEMPLATE_BEATS = 8


def record_templates(
    windows: np.ndarray, record_ids: np.ndarray, include: np.ndarray | None = None
) -> np.ndarray:
    """Per-beat copy of its record's dominant beat: the median window of the record's beats
    (of those in `include`, when at least MIN_TEMPLATE_BEATS of them are).

    `beat - template` shows how far a beat departs from that patient's own shape, which
    transfers across patients better than the raw morphology.
    """
    templates = np.empty_like(windows)
    for record in np.unique(record_ids):
        mask = record_ids == record
        chosen = mask if include is None else mask & include
        if chosen.sum() < MIN_TEMPLATE_BEATS:
            chosen = mask
        templates[mask] = np.median(windows[chosen], axis=0)
    return templates


def template_beats(
    rr: np.ndarray, rr_names: Sequence[str], rule: str, min_ratio: float
) -> np.ndarray | None:
    """Which beats make the template: all of them, or only those that are not premature
    against the preceding sinus cycle (pre_over_upper >= min_ratio), so the template is
    the patient's sinus beat even where ectopic beats are the majority."""
    if rule == "all":
        return None
    if rule != "non_premature":
        raise ValueError(f"template rule {rule!r} is not one of {TEMPLATE_RULES}")
    return rr[:, list(rr_names).index("pre_over_upper")] >= min_ratio


def beat_channels(
    windows: np.ndarray, record_ids: np.ndarray, include: np.ndarray | None = None
) -> np.ndarray:
    """(n, 2 * n_leads, L) float32: the beat's leads, then beat minus template per lead."""
    templates = record_templates(windows, record_ids, include)
    return np.concatenate([windows, windows - templates], axis=1).astype(np.float32)


def rr_inputs(rr: np.ndarray, rr_names: Sequence[str], selected: Sequence[str]) -> np.ndarray:
    """The selected RR features, log-scaled so that ratios are centred on 0."""
    names = list(rr_names)
    missing = [name for name in selected if name not in names]
    if missing:
        raise ValueError(f"RR features {missing} are not in the dataset ({names})")
    columns = [names.index(name) for name in selected]
    return np.log(np.clip(rr[:, columns], 1e-3, None)).astype(np.float32)
