"""The beat dataset: every annotated beat of DS1, DS2 and the SVDB records, its windows, RR
features and label, at MITDB's sampling rate (SVDB's 128 Hz records are resampled)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from arrhythmia.config import PreprocessParams
from arrhythmia.data.aami import AAMI_CLASSES, aami_labels, class_index
from arrhythmia.data.records import MITDB_FS, split_of
from arrhythmia.data.wfdb_io import read_beats, read_ecg
from arrhythmia.npz import save_npz
from arrhythmia.signal.beat_features import beat_features
from arrhythmia.signal.beats import window_bounds
from arrhythmia.signal.ecg import EcgRecord, primary_lead_first
from arrhythmia.signal.resample import resample_positions, resample_record
from arrhythmia.signal.rr import RR_FEATURES

log = logging.getLogger(__name__)


def dataset_ecg(raw_dir: str | Path, record: str, fs: float = MITDB_FS) -> EcgRecord:
    """A record's ECG as the dataset's beat positions refer to it: leads named MLII first,
    at `fs` (resampled where the record's rate differs, as :func:`record_dataset` does)."""
    return resample_record(primary_lead_first(read_ecg(Path(raw_dir) / record)), fs)


def record_dataset(
    raw_dir: Path, record: str, p: PreprocessParams, fs: float = MITDB_FS
) -> dict[str, np.ndarray]:
    """All beats of one record as dataset columns, at `fs` (resampled where the record's
    rate differs; beat positions moved with it). Leads named MLII come first; records
    whose leads have other names (SVDB's ECG1, ECG2) keep their order."""
    ecg = primary_lead_first(read_ecg(raw_dir / record))
    beats = read_beats(raw_dir / record)
    sample = beats.sample
    if ecg.fs != fs:
        at_fs = resample_record(ecg, fs)
        sample = resample_positions(sample, ecg.fs, fs, len(at_fs.signal))
        ecg = at_fs
    features = beat_features(ecg, sample, p)
    n = len(sample)
    return {
        "windows": features.windows,
        "rr": features.rr,
        "label": class_index(aami_labels(beats.symbol)).astype(np.int8),
        "symbol": beats.symbol.astype("<U1"),
        "record": np.full(n, record, dtype="<U8"),
        "sample": sample.astype(np.int64),
        "split": np.full(n, split_of(record), dtype="<U4"),
        "fs": np.array(ecg.fs),
    }


def build_beat_dataset(
    raw_dir: str | Path, records: Sequence[str], p: PreprocessParams, *, progress: bool = True
) -> dict[str, np.ndarray]:
    """Concatenate `record_dataset` over records, plus the metadata the model needs."""
    from tqdm import tqdm

    raw_dir = Path(raw_dir)
    parts = [
        record_dataset(raw_dir, r, p)
        for r in tqdm(records, desc="preprocess", unit="record", disable=not progress)
    ]
    rates = {float(part.pop("fs")) for part in parts}
    if len(rates) != 1:
        raise ValueError(f"records have different sampling rates {sorted(rates)}; resample first")
    fs = rates.pop()
    arrays = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    arrays["rr_names"] = np.array(RR_FEATURES)
    arrays["classes"] = np.array(AAMI_CLASSES)
    arrays["fs"] = np.array(fs)
    arrays["window_length"] = np.array(arrays["windows"].shape[-1])
    arrays["window_pre"] = np.array(window_bounds(fs, p.window_pre_s, p.window_post_s)[0])
    return arrays


def class_counts(arrays: Mapping[str, np.ndarray]) -> dict[str, dict[str, int]]:
    """{split: {class: count}} over the dataset, every AAMI class listed."""
    counts: dict[str, dict[str, int]] = {}
    for split in sorted(set(arrays["split"].tolist())):
        labels = arrays["label"][arrays["split"] == split]
        counts[split] = {c: int(np.sum(labels == i)) for i, c in enumerate(AAMI_CLASSES)}
    return counts


def save_dataset(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """An .npz that `np.load` reads, byte-identical for identical arrays (so an unchanged
    re-run of preprocess keeps its DVC hash)."""
    save_npz(path, arrays)


def load_dataset(path: str | Path) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no beat dataset here (run the preprocess stage first)")
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}
