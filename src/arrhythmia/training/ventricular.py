"""Fitting the learnt presence of VT and VF (:mod:`arrhythmia.rhythm.ventricular`) on the
rhythm development records: MITDB's DS1, VFDB and CUDB. Each record is read, its beats found
and classified as the product does, and every window gets its feature row and, as its
label, whether the reference rhythm at its centre is VT, VF or flutter.

The shipped trees learn from every window. Their figures are out of fold: the records are
dealt into record-wise folds; each record is diagnosed by the product with trees fitted on
the other folds' records, and its VT, VF and VT-or-VF episodes are scored against its
reference rhythm (:mod:`arrhythmia.evaluation.rhythm_scoring`). The beat classes of DS1's
records come from a classifier that learnt from them; VFDB's and CUDB's it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from arrhythmia.config import VentricularParams
from arrhythmia.detection.model import QrsDetector
from arrhythmia.errors import ArrhythmiaError
from arrhythmia.evaluation.rhythm_scoring import episode_scores, pool, reference_episodes
from arrhythmia.inference.diagnose import ClassifiedBeats, classified_beats, diagnosis_of_beats
from arrhythmia.inference.model_handle import ModelHandle
from arrhythmia.inference.predict import read_lead_first
from arrhythmia.rhythm.episodes import Episode, RhythmParams
from arrhythmia.rhythm.ventricular import VentricularModel, window_rows
from arrhythmia.signal.ecg import EcgRecord
from arrhythmia.trees import TreeEnsemble, gradient_boosted_trees

PRESENT = frozenset({"VT", "VF", "VFIB", "VFL"})  # reference names; the product: VT, VFL
GROUPS = {"vt": {"VT"}, "vf": {"VF", "VFIB", "VFL"}, "vt_or_vf": set(PRESENT)}


class VentricularDataError(ArrhythmiaError):
    """The records to learn VT and VF from hold none of them."""


@dataclass(frozen=True)
class RecordWindows:
    database: str
    name: str
    ecg: EcgRecord  # the lead read first
    beats: ClassifiedBeats  # before any rhythm rule
    rows: np.ndarray  # (n_windows, len(VENTRICULAR_FEATURES))
    present: np.ndarray  # (n_windows,) bool: VT, VF or flutter in the reference
    reference: list[Episode]


def record_windows(
    records: dict[str, tuple[Path, list[str]]], model: ModelHandle, detector: QrsDetector
) -> list[RecordWindows]:
    """Every listed record (database -> its folder and record names) read, its beats found
    and classified, and its windows' feature rows and labels. A record too short for the
    windows (about 12 s) is left out."""
    params, out = RhythmParams(), []
    for database, (folder, names) in records.items():
        for name in tqdm(names, desc=f"VT/VF windows, {database}", unit="record", mininterval=5):
            ecg, quality = read_lead_first(folder / name)
            beats = classified_beats(ecg, model, detector, quality)
            table = window_rows(
                ecg.signal, ecg.fs, beats.samples, beats.labels, beats.unreadable, params
            )
            if table is None:
                continue
            reference = reference_episodes(str(folder / name), len(ecg.signal))
            present = np.zeros(len(ecg.signal), dtype=bool)
            for episode in reference:
                present[episode.start : episode.end] = episode.rhythm in PRESENT
            out.append(
                RecordWindows(
                    database, name, ecg, beats, table.rows, present[table.centres], reference
                )
            )
    return out


def _fit(records: list[RecordWindows], params: VentricularParams) -> VentricularModel | None:
    """Trees fitted on these records' windows; None where there are none or their labels are
    all one value."""
    if not records:
        return None
    x = np.concatenate([r.rows for r in records])
    y = np.concatenate([r.present for r in records])
    if y.all() or not y.any():
        return None
    trees = TreeEnsemble.from_sklearn(gradient_boosted_trees(params).fit(x, y))
    return VentricularModel(trees, params.threshold, params.smooth_windows)


def fit_ventricular(
    records: list[RecordWindows], model: ModelHandle, params: VentricularParams
) -> tuple[VentricularModel, dict]:
    """The trees fitted on every record's windows, and their record-wise out-of-fold
    figures per database (:func:`out_of_fold_scores`)."""
    shipped = _fit(records, params)
    if shipped is None:
        raise VentricularDataError(
            f"none of the {len(records)} rhythm development records has VT, VF or flutter "
            "in its reference (or every window has): no presence trees can be fitted"
        )
    return shipped, _metrics(out_of_fold_scores(records, model, params), records)


def out_of_fold_scores(
    records: list[RecordWindows], model: ModelHandle, params: VentricularParams
) -> dict[str, dict[str, list[dict]]]:
    """database -> group -> each record's episode scores, the record diagnosed by the
    product with trees fitted on the other folds' records (`model` classifies as the
    product; its own ventricular model, if any, is replaced by each fold's). A fold whose
    training records hold no VT or VF (only in tiny subsets) leaves its records to the rules
    alone."""
    folds = min(params.folds, len(records))
    scores: dict[str, dict[str, list]] = {}
    for fold in tqdm(range(folds), desc="VT/VF folds", unit="fold"):
        others = [r for i, r in enumerate(records) if i % folds != fold]
        handle = replace(model, ventricular=_fit(others, params))
        for record in records[fold::folds]:
            diagnosis = diagnosis_of_beats(record.ecg, record.beats, handle)
            by_group = scores.setdefault(record.database, {g: [] for g in GROUPS})
            for group, rhythms in GROUPS.items():
                by_group[group].append(
                    episode_scores(record.reference, diagnosis.episodes, rhythms, fs=record.ecg.fs)
                )
    return scores


def _metrics(scores: dict[str, dict[str, list]], records: list[RecordWindows]) -> dict:
    """Flat figures: `vtvf_cv_<database>_<group>_<duration|episode>_<se|ppv>` (those with
    nothing to divide by are left out, never NaN), with window and record counts."""
    out: dict = {
        "vtvf_records": len(records),
        "vtvf_windows": int(sum(len(r.present) for r in records)),
        "vtvf_present_windows": int(sum(r.present.sum() for r in records)),
    }
    for database, by_group in scores.items():
        for group, per_record in by_group.items():
            gross = pool(per_record)
            for kind in ("duration", "episode"):
                for stat in ("se", "ppv"):
                    value = gross[f"{kind}_{stat}"]
                    if value is not None:
                        out[f"vtvf_cv_{database}_{group}_{kind}_{stat}"] = float(value)
    return out
