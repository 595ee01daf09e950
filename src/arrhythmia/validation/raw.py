"""Great Expectations checks on the raw records of MITDB, SVDB, VFDB and CUDB (headers,
signals, reference annotations), each database against its own facts (RawSpec: rate,
length, leads).

`raw_record_tables` turns the WFDB files into two tidy tables:

- `records`: one row per record (header facts, digital signal range, annotation count, and
  `read_error`: why a file could not be read, None when all three files were read);
- `annotations`: one row per reference annotation (record, sample, symbol, sig_len,
  gap_to_previous).

A record wfdb cannot read does not raise: its `read_error` is set and fails an expectation that
names the record, while every other record is still checked (column expectations skip the
missing values of an unreadable record).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arrhythmia.data.aami import MITBIH_SYMBOLS
from arrhythmia.data.records import CUDB_FS, MITDB_FS, SVDB_FS, VFDB_FS
from arrhythmia.validation.gx_runner import ValidationOutcome, import_gx, run_suites

EXPECTED_FMT = "212"
LEAD_0 = ("MLII", "V5")
LEAD_1 = ("V1", "V2", "V4", "V5", "MLII")
MITDB_SIG_LEN = 650000
SVDB_SIG_LEN = 230400  # 30 min at 128 Hz
VFDB_SIG_LEN = 525000  # 35 min at 250 Hz
CUDB_SIG_LEN = 127232  # 8.5 min at 250 Hz
EITHER_MISSING = "either_value_is_missing"  # pair checks skip records whose signals were unread

# Digital value wfdb uses for a missing sample, and the bits a sample has, per dat format.
_INVALID_SAMPLE = {
    "80": -(2**7),
    "310": -(2**9),
    "311": -(2**9),
    "212": -(2**11),
    "16": -(2**15),
    "61": -(2**15),
    "160": -(2**15),
    "24": -(2**23),
    "32": -(2**31),
}
_FORMAT_BITS = {
    "8": 8,
    "80": 8,
    "310": 10,
    "311": 10,
    "212": 12,
    "16": 16,
    "61": 16,
    "160": 16,
    "24": 24,
    "32": 32,
}
_BYTES_PER_SAMPLE = {
    "8": 1,
    "80": 1,
    "212": 1.5,
    "16": 2,
    "61": 2,
    "160": 2,
    "24": 3,
    "32": 4,
    "310": 4 / 3,
    "311": 4 / 3,
}

RECORD_COLUMNS = (
    "record",
    "read_error",
    "fs",
    "n_sig",
    "sig_len",
    "fmt_0",
    "fmt_1",
    "lead_0",
    "lead_1",
    "n_nan",
    "d_min",
    "d_max",
    "adc_min",
    "adc_max",
    "fmt_min",
    "fmt_max",
    "n_annotations",
)
ANNOTATION_COLUMNS = ("record", "sample", "symbol", "sig_len", "gap_to_previous")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        name = Path(exc.filename).name if exc.filename else ""
        return f"{name}: {exc.strerror}" if name else exc.strerror
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _adc_range(adc_res: int, adc_zero: int, fmt: str) -> tuple[int, int]:
    bits = int(adc_res) or _FORMAT_BITS.get(fmt, 16)
    half = 2 ** (bits - 1)
    return int(adc_zero) - half, int(adc_zero) + half - 1


def _dat_size_problem(raw_dir: Path, header: Any) -> str | None:
    """A clear message when a .dat file is shorter than its header says (wfdb's is cryptic)."""
    files = set(header.file_name or [])
    fmts = set(header.fmt or [])
    if len(files) != 1 or len(fmts) != 1 or next(iter(fmts)) not in _BYTES_PER_SAMPLE:
        return None
    dat = raw_dir / next(iter(files))
    if not dat.is_file():
        return f"{dat.name}: No such file or directory"
    offset = int((header.byte_offset or [0])[0] or 0)
    expected = offset + int(
        np.ceil(header.sig_len * header.n_sig * _BYTES_PER_SAMPLE[next(iter(fmts))])
    )
    actual = dat.stat().st_size
    if actual < expected:
        return f"{dat.name} is truncated: {actual:,} bytes, header implies {expected:,}"
    return None


def _read_record(raw_dir: Path, record: str) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """The record's row of the `records` table and its annotations (None if unreadable)."""
    import wfdb

    row: dict[str, Any] = dict.fromkeys(RECORD_COLUMNS)
    row["record"] = record
    path = str(raw_dir / record)
    errors: list[str] = []
    try:
        header = wfdb.rdheader(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable header becomes a report line
        row["read_error"] = f"cannot read header: {_reason(exc)}"
        return row, None

    row.update(_header_facts(header))
    problem = _dat_size_problem(raw_dir, header)
    if problem:
        errors.append(f"cannot read signals: {problem}")
    else:
        try:
            row.update(_signal_facts(path, [str(f) for f in (header.fmt or [])]))
        except Exception as exc:  # noqa: BLE001
            errors.append(f"cannot read signals: {_reason(exc)}")

    annotations = None
    try:
        annotations = _annotations(path, record, int(header.sig_len))
        row["n_annotations"] = len(annotations)
    except Exception as exc:  # noqa: BLE001
        errors.append(f"cannot read annotations: {_reason(exc)}")
    row["read_error"] = "; ".join(errors) or None
    return row, annotations


def _header_facts(header: Any) -> dict[str, Any]:
    """What the header says: rate, size, formats, leads and the ADC and format ranges."""
    fmts = [str(f) for f in (header.fmt or [])]
    leads = list(header.sig_name or [])
    facts = {
        "fs": float(header.fs),
        "n_sig": int(header.n_sig),
        "sig_len": int(header.sig_len),
        "fmt_0": fmts[0] if len(fmts) > 0 else None,
        "fmt_1": fmts[1] if len(fmts) > 1 else None,
        "lead_0": leads[0] if len(leads) > 0 else None,
        "lead_1": leads[1] if len(leads) > 1 else None,
    }
    if header.n_sig:
        ranges = [
            _adc_range(res, zero, fmt)
            for res, zero, fmt in zip(header.adc_res, header.adc_zero, fmts, strict=True)
        ]
        # The narrowest range over the signals: MITDB's signals all share one ADC.
        facts["adc_min"] = max(lo for lo, _ in ranges)
        facts["adc_max"] = min(hi for _, hi in ranges)
        # What the storage format can hold, whatever resolution the header claims.
        stored = [_adc_range(0, zero, fmt) for zero, fmt in zip(header.adc_zero, fmts, strict=True)]
        facts["fmt_min"] = max(lo for lo, _ in stored)
        facts["fmt_max"] = min(hi for _, hi in stored)
    return facts


def _signal_facts(path: str, fmts: list[str]) -> dict[str, Any]:
    """The stored samples' range and how many are the format's invalid-sample marker."""
    import wfdb

    signal = wfdb.rdrecord(path, physical=False).d_signal
    invalid = np.zeros(signal.shape, dtype=bool)
    for i, fmt in enumerate(fmts):
        if _INVALID_SAMPLE.get(fmt) is not None:
            invalid[:, i] = signal[:, i] == _INVALID_SAMPLE[fmt]
    valid = signal[~invalid]
    return {
        "n_nan": int(invalid.sum()),
        "d_min": int(valid.min()) if valid.size else None,
        "d_max": int(valid.max()) if valid.size else None,
    }


def _annotations(path: str, record: str, sig_len: int) -> pd.DataFrame:
    """The record's reference annotations, one row each, with the gap to the previous one."""
    import wfdb

    ann = wfdb.rdann(path, "atr")
    sample = np.asarray(ann.sample, dtype=np.int64)
    gap = np.diff(sample, prepend=sample[:1]) if sample.size else sample
    return pd.DataFrame(
        {
            "record": record,
            "sample": sample,
            "symbol": pd.Series(list(ann.symbol), dtype=object),
            "sig_len": sig_len,
            "gap_to_previous": gap,
        }
    )


def raw_record_tables(raw_dir: str | Path, records: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The `records` and `annotations` tables of the given records in `raw_dir`."""
    raw_dir = Path(raw_dir)
    rows = []
    frames = []
    for record in records:
        row, annotations = _read_record(raw_dir, str(record))
        rows.append(row)
        if annotations is not None:
            frames.append(annotations)
    records_df = pd.DataFrame(rows, columns=list(RECORD_COLUMNS))
    text = ("record", "read_error", "fmt_0", "fmt_1", "lead_0", "lead_1")
    for column in RECORD_COLUMNS:
        if column in text:
            records_df[column] = records_df[column].astype(object)
    for column in RECORD_COLUMNS:
        if column not in text and column != "fs":  # counts: nullable for unreadable records
            records_df[column] = records_df[column].astype("Int64")
    records_df["fs"] = records_df["fs"].astype(float)
    if frames:
        annotations_df = pd.concat(frames, ignore_index=True)
    else:
        annotations_df = pd.DataFrame({c: pd.Series(dtype=object) for c in ANNOTATION_COLUMNS})
    return {"records": records_df, "annotations": annotations_df}


@dataclass(frozen=True)
class RawSpec:
    """What every record of one database must be."""

    fs: float
    sig_len: int
    leads_0: tuple[str, ...]
    leads_1: tuple[str, ...] | None  # None: one lead
    prefix: str = ""  # of its table names, so several databases share one validation
    # the sample range the signals must stay in: the header's ADC resolution, or only what
    # the storage format holds where the headers understate it
    sample_range: tuple[str, str] = ("adc_min", "adc_max")
    annotation_at_end: bool = False  # may a beat be annotated at sample == sig_len?
    max_invalid_share: float = 0.0  # of the samples, stored as the format's invalid value

    @property
    def n_sig(self) -> int:
        return 1 if self.leads_1 is None else 2


MITDB_RAW = RawSpec(MITDB_FS, MITDB_SIG_LEN, LEAD_0, LEAD_1)
# SVDB's headers say 10-bit, but half its records use format 212's 12 bits; and record 860
# annotates its last beat one sample past the signal (the dataset puts it on the last one).
SVDB_RAW = RawSpec(
    SVDB_FS,
    SVDB_SIG_LEN,
    ("ECG1",),
    ("ECG2",),
    prefix="svdb_",
    sample_range=("fmt_min", "fmt_max"),
    annotation_at_end=True,
)
# Rhythm development data: rhythm annotations (VFDB) or VF spans and beats (CUDB).
VFDB_RAW = RawSpec(VFDB_FS, VFDB_SIG_LEN, ("ECG",), ("ECG",), prefix="vfdb_")
# CUDB's defibrillation shocks saturate the ADC at both rails; a sample clipped at the lower
# one is format 212's invalid value (readers give NaN): up to 1.9 % of a record (cu23).
CUDB_RAW = RawSpec(CUDB_FS, CUDB_SIG_LEN, ("ECG",), None, prefix="cudb_", max_invalid_share=0.025)


def _second_lead(e: Any, spec: RawSpec, column: str, value_set: list[str]) -> Any:
    """The second signal's `column` in `value_set`; no second signal at all for one lead."""
    if spec.n_sig == 1:
        return e.ExpectColumnValuesToBeNull(column=column)
    return e.ExpectColumnValuesToBeInSet(column=column, value_set=value_set)


def raw_expectations(spec: RawSpec = MITDB_RAW) -> dict[str, list[Any]]:
    """The expectations per table (fresh objects on every call)."""
    e = import_gx().expectations
    records = [
        e.ExpectColumnValuesToBeNull(column="read_error"),
        e.ExpectColumnValuesToBeInSet(column="fs", value_set=[spec.fs]),
        e.ExpectColumnValuesToBeInSet(column="n_sig", value_set=[spec.n_sig]),
        e.ExpectColumnValuesToBeInSet(column="sig_len", value_set=[spec.sig_len]),
        e.ExpectColumnValuesToBeInSet(column="fmt_0", value_set=[EXPECTED_FMT]),
        _second_lead(e, spec, "fmt_1", [EXPECTED_FMT]),
        e.ExpectColumnValuesToBeInSet(column="lead_0", value_set=list(spec.leads_0)),
        _second_lead(e, spec, "lead_1", list(spec.leads_1 or ())),
        e.ExpectColumnValuesToBeBetween(
            column="n_nan",
            min_value=0,
            max_value=int(spec.max_invalid_share * spec.sig_len * spec.n_sig),  # all signals'
        ),
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="d_min",
            column_B=spec.sample_range[0],
            or_equal=True,
            ignore_row_if=EITHER_MISSING,
        ),
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=spec.sample_range[1],
            column_B="d_max",
            or_equal=True,
            ignore_row_if=EITHER_MISSING,
        ),
        e.ExpectColumnValuesToBeBetween(column="n_annotations", min_value=1),
        e.ExpectColumnValuesToBeUnique(column="record"),
    ]
    annotations = [
        e.ExpectColumnValuesToBeInSet(column="symbol", value_set=sorted(MITBIH_SYMBOLS)),
        e.ExpectColumnValuesToBeBetween(column="sample", min_value=0),
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="sig_len", column_B="sample", or_equal=spec.annotation_at_end
        ),
        e.ExpectColumnValuesToBeBetween(column="gap_to_previous", min_value=0),
    ]
    return {"records": records, "annotations": annotations}


RAW_ID_COLUMNS = {"records": ["record"], "annotations": ["record", "sample"]}


def _suites(tables: dict[str, pd.DataFrame], spec: RawSpec) -> list[tuple[str, pd.DataFrame, list]]:
    expectations = raw_expectations(spec)
    return [(spec.prefix + t, tables[t], expectations[t]) for t in ("records", "annotations")]


def _id_columns(specs: Sequence[RawSpec]) -> dict[str, list[str]]:
    return {spec.prefix + t: ids for spec in specs for t, ids in RAW_ID_COLUMNS.items()}


def validate_raw_tables(
    tables: dict[str, pd.DataFrame],
    report_dir: str | Path,
    expected_sig_len: int = MITDB_SIG_LEN,
    name: str = "raw",
) -> ValidationOutcome:
    """Run MITDB's raw expectations on already built tables (tests inject bad rows here)."""
    spec = replace(MITDB_RAW, sig_len=expected_sig_len)
    return run_suites(name, _suites(tables, spec), report_dir, id_columns=_id_columns([spec]))


def validate_raw_records(
    raw_dir: str | Path,
    records: Sequence[str],
    report_dir: str | Path,
    expected_sig_len: int = MITDB_SIG_LEN,
) -> ValidationOutcome:
    """Read MITDB records, validate them, write Data Docs + summary.json into `report_dir`."""
    return validate_raw_tables(raw_record_tables(raw_dir, records), report_dir, expected_sig_len)


def validate_raw_databases(
    databases: Sequence[tuple[str | Path, Sequence[str], RawSpec]],
    report_dir: str | Path,
    name: str = "raw",
    extra_suites: Sequence[tuple[str, pd.DataFrame, list]] = (),
) -> ValidationOutcome:
    """Read and validate the records of several databases ((raw_dir, records, spec) each),
    and any `extra_suites` (the CinC strips), in one validation: one report, every failure
    of every database in it."""
    suites = [
        suite
        for raw_dir, records, spec in databases
        for suite in _suites(raw_record_tables(raw_dir, records), spec)
    ]
    specs = [spec for _, _, spec in databases]
    id_columns = _id_columns(specs) | {suite[0]: ["record"] for suite in extra_suites}
    return run_suites(name, [*suites, *extra_suites], report_dir, id_columns=id_columns)
