"""Reading WFDB records and their annotations into plain arrays: the one WFDB reader,
for training and diagnosis alike."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arrhythmia.data.aami import SYMBOL_TO_AAMI
from arrhythmia.data.checks import RecordError, check_rate_and_length
from arrhythmia.signal.ecg import EcgRecord

CHUNK_SAMPLES = 1_000_000  # read in pieces: bounded memory on 24-hour records


@dataclass(frozen=True)
class Beats:
    sample: np.ndarray  # (n_beats,) int64, sample index of each QRS
    symbol: np.ndarray  # (n_beats,) annotation symbol of each beat


def check_header(path: Path) -> None:
    """A RecordError unless the WFDB record at `path` (without extension) has a header."""
    if not Path(f"{path}.hea").is_file():
        raise RecordError(f"{path}.hea: no such WFDB header (give the record path)")


def read_ecg(path: str | Path, dtype: type = np.float64) -> EcgRecord:
    """A WFDB record (path without extension) in physical units, NaN-free, its sampling rate
    and length checked before any sample is decoded: the one WFDB reader (the beat dataset
    reads at float64, the diagnosis at float32). Every problem is one RecordError."""
    import wfdb

    path = Path(path)
    check_header(path)
    try:
        header = wfdb.rdheader(str(path))
        n = int(header.sig_len or 0)
        if header.fs is None or not np.isfinite(float(header.fs)) or header.n_sig == 0:
            raise RecordError(f"{path}.hea: no sampling rate or no signals in the header")
        check_rate_and_length(str(path), float(header.fs), n)
        signal = np.empty((n, header.n_sig), dtype=dtype)
        for start in range(0, n, CHUNK_SAMPLES):
            stop = min(n, start + CHUNK_SAMPLES)
            signal[start:stop] = wfdb.rdrecord(str(path), sampfrom=start, sampto=stop).p_signal
    except RecordError:
        raise
    except Exception as error:  # wfdb raises bare ValueErrors, struct and OS errors
        raise RecordError(f"{path}: cannot read the record: {error}") from None
    # Samples the ADC flagged as invalid decode to NaN; hold the last valid value instead.
    return EcgRecord(path.name, float(header.fs), fill_nan(signal), tuple(header.sig_name))


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
