"""Reading WFDB records and their annotations into plain arrays."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arrhythmia.data.aami import SYMBOL_TO_AAMI
from arrhythmia.signal.ecg import EcgRecord


@dataclass(frozen=True)
class Beats:
    sample: np.ndarray  # (n_beats,) int64, sample index of each QRS
    symbol: np.ndarray  # (n_beats,) annotation symbol of each beat


def read_ecg(path: str | Path) -> EcgRecord:
    """Read a WFDB record (path without extension) in physical units."""
    import wfdb

    path = Path(path)
    rec = wfdb.rdrecord(str(path))
    signal = np.asarray(rec.p_signal, dtype=np.float64)
    # Samples the ADC flagged as invalid decode to NaN; hold the last valid value instead.
    signal = fill_nan(signal)
    return EcgRecord(name=path.name, fs=float(rec.fs), signal=signal, leads=tuple(rec.sig_name))


def read_beats(path: str | Path, extension: str = "atr") -> Beats:
    """Beat annotations of a record (AAMI-mapped symbols); rhythm and noise labels dropped."""
    import wfdb

    ann = wfdb.rdann(str(path), extension)
    symbols = np.asarray(ann.symbol)
    is_beat = np.isin(symbols, list(SYMBOL_TO_AAMI))
    return Beats(sample=np.asarray(ann.sample, dtype=np.int64)[is_beat], symbol=symbols[is_beat])


def fill_nan(signal: np.ndarray) -> np.ndarray:
    """Each NaN or infinity replaced by the lead's last valid value (the first valid one at
    the start; zero for a lead with none): a gap reads as a flat stretch, never as a
    number. Nothing is copied when every sample is finite."""
    if np.isfinite(signal).all():
        return signal
    out = signal.copy()
    for lead in range(out.shape[1]):
        column = out[:, lead]
        valid = np.isfinite(column)
        if valid.all():
            continue
        if not valid.any():
            column[:] = 0.0
            continue
        index = np.where(valid, np.arange(len(column)), 0)
        np.maximum.accumulate(index, out=index)
        column[:] = column[index]
        column[: np.argmax(valid)] = column[np.argmax(valid)]
    return out
