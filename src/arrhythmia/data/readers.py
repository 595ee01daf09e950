"""Reading an ECG from any of the formats `arrhythmia predict` accepts: a WFDB record, an
EDF/EDF+ file (edfio) or a CSV file with one column per lead. Every problem
with a file is one `RecordError` naming it; data/checks.py holds the bounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from arrhythmia.data.checks import RecordError, check_rate_and_length
from arrhythmia.data.wfdb_io import check_header, fill_nan, read_ecg
from arrhythmia.signal.ecg import EcgRecord


def record_name(path: str | Path) -> str:
    """The name outputs are written under: the file name without its format's suffix."""
    path = Path(path)
    return path.stem if path.suffix.lower() in (".edf", ".csv", ".hea", ".dat") else path.name


def check_present(path: str | Path) -> None:
    """A RecordError naming the file that is not there (a WFDB header, an EDF or CSV
    file), found without reading anything, before a model is loaded for the record."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".edf"):
        if not path.is_file():
            raise RecordError(f"{path}: no such file")
        return
    check_header(path.with_suffix("") if suffix in (".hea", ".dat") else path)


def read_record(path: str | Path, *, fs: float | None = None) -> EcgRecord:
    """The ECG at `path` in physical units (float32, NaN-free), checked for a plausible
    sampling rate and length. `fs` is required for CSV and overrides nothing else."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, fs)
    if suffix == ".edf":
        return _read_edf(path)
    return read_ecg(path.with_suffix("") if suffix in (".hea", ".dat") else path, np.float32)


# EDF's physical dimension field, to millivolts (the unit of the WFDB records we learn from);
# headers are read as Latin-1, where the micro sign is 0xB5
TO_MILLIVOLT = {"mv": 1.0, "uv": 1e-3, "\u00b5v": 1e-3, "\u03bcv": 1e-3, "v": 1e3, "nv": 1e-6}


def _read_edf(path: Path) -> EcgRecord:
    """EDF or EDF+ (continuous) through edfio, which skips EDF+'s annotation signals; the
    signals at the highest sampling rate are the leads (slow channels such as SpO2 are not
    ECG), in millivolts."""
    import edfio

    if not path.is_file():
        raise RecordError(f"{path}: no such file")
    try:
        edf = edfio.read_edf(path, header_encoding="latin-1")
        signals = list(edf.signals)  # without the "EDF Annotations" signals of EDF+
        discontinuous = edf.reserved.strip().upper() == "EDF+D"
    except Exception as error:  # edfio raises ValueErrors on malformed headers
        raise RecordError(f"{path}: cannot read it as EDF: {error}") from None
    if discontinuous:
        raise RecordError(
            f"{path}: a discontinuous EDF+ file (EDF+D) has gaps between its data records; "
            "export it as continuous EDF+"
        )
    if not signals:
        raise RecordError(f"{path}: no signal channels, only annotations")
    fs = max(float(s.sampling_frequency) for s in signals)
    leads = [s for s in signals if float(s.sampling_frequency) == fs]
    # the stored integers' count: nothing decoded yet
    check_rate_and_length(str(path), fs, len(leads[0].digital))
    units = [lead.physical_dimension.strip().lower() for lead in leads]
    unknown = sorted({unit for unit in units if unit not in TO_MILLIVOLT})
    if unknown:
        raise RecordError(
            f"{path}: physical dimension {unknown} is not a voltage unit (mV, uV, V, nV)"
        )
    signal = np.empty((len(leads[0].digital), len(leads)), dtype=np.float32)
    for column, (lead, unit) in enumerate(zip(leads, units, strict=True)):
        signal[:, column] = lead.data * TO_MILLIVOLT[unit]
    names = tuple(lead.label.strip() for lead in leads)
    return EcgRecord(record_name(path), fs, fill_nan(signal), names)


def _read_csv(path: Path, fs: float | None) -> EcgRecord:
    if fs is None:
        raise RecordError(f"{path}: a CSV file has no sampling rate: give it with --fs")
    if not path.is_file():
        raise RecordError(f"{path}: no such file")
    try:
        with path.open() as handle:
            first = handle.readline().strip().split(",")
        has_header = any(not _is_number(cell) for cell in first)
        signal = np.loadtxt(
            path, delimiter=",", skiprows=int(has_header), dtype=np.float32, ndmin=2
        )
    except Exception as error:
        raise RecordError(f"{path}: cannot read it as CSV (one column per lead): {error}") from None
    if signal.size == 0:
        raise RecordError(f"{path}: no samples")
    names = (
        [c.strip() for c in first] if has_header else [f"lead{i}" for i in range(signal.shape[1])]
    )
    check_rate_and_length(str(path), float(fs), len(signal))
    return EcgRecord(record_name(path), float(fs), fill_nan(signal), tuple(names))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
