"""Great Expectations checks on the beat dataset (data/processed/beats.npz).

The arrays become four tables, each shown as one suite in the HTML report:

- `facts`: one row of dataset-wide facts (non-finite values, window shape, patient overlap);
- `records`: one row per record (the split(s) it appears in, the split it belongs to);
- `beats`: one row per beat (record, sample, split, label, symbol, RR features);
- `class_counts`: one row per (split, AAMI class): count and the tolerated low..high band.

Arrays too malformed to tabulate (a missing key, per-beat arrays of different lengths) raise
`ValidationFailed` before any expectation runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arrhythmia.config import ValidateDatasetParams
from arrhythmia.data.aami import AAMI_CLASSES, SYMBOL_TO_AAMI
from arrhythmia.data.records import MITDB_FS, PACED_RECORDS, SPLITS
from arrhythmia.signal.ecg import N_LEADS
from arrhythmia.validation.gx_runner import (
    ValidationFailed,
    ValidationOutcome,
    import_gx,
    run_suites,
)

REQUIRED_KEYS = (
    "windows",
    "label",
    "symbol",
    "record",
    "sample",
    "split",
    "rr",
    "rr_names",
    "fs",
    "window_length",
)
PER_BEAT_KEYS = ("windows", "label", "symbol", "record", "sample", "split", "rr")
DATASET_ID_COLUMNS = {
    "facts": [],
    "records": ["record"],
    "beats": ["record", "sample"],
    "class_counts": ["split", "class", "expected"],
}


def _strings(values: Any) -> np.ndarray:
    return np.asarray(values).astype(str)


def _check_structure(arrays: Mapping[str, Any]) -> None:
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if missing:
        raise ValidationFailed(f"beat dataset: missing array(s) {', '.join(missing)}")
    lengths = {k: len(np.asarray(arrays[k])) for k in PER_BEAT_KEYS}
    if len(set(lengths.values())) != 1:
        shown = ", ".join(f"{k}={n}" for k, n in lengths.items())
        raise ValidationFailed(f"beat dataset: per-beat arrays differ in length ({shown})")
    rr = np.asarray(arrays["rr"])
    names = _strings(arrays["rr_names"])
    if rr.ndim != 2 or rr.shape[1] != len(names):
        raise ValidationFailed(
            f"beat dataset: rr has shape {rr.shape}, expected (n, {len(names)}) for rr_names "
            f"{list(names)}"
        )


def tolerance_band(expected: int, params: ValidateDatasetParams) -> tuple[float, float]:
    """|count - expected| <= max(absolute_tolerance, relative_tolerance * expected)."""
    tol = max(float(params.absolute_tolerance), params.relative_tolerance * expected)
    return expected - tol, expected + tol


def _split_of(record: str) -> str:
    if record in PACED_RECORDS:
        return "paced"
    for name, records in SPLITS.items():
        if record in records:
            return name
    return "unknown"


def dataset_tables(
    arrays: Mapping[str, Any], params: ValidateDatasetParams
) -> dict[str, pd.DataFrame]:
    """The facts, records, beats and class_counts tables of a beat dataset."""
    _check_structure(arrays)
    label = np.asarray(arrays["label"]).astype(np.int64)
    split = _strings(arrays["split"])
    beats = _beats_table(arrays, label, split)
    return {
        "facts": _facts_table(arrays, label, split),
        "records": _records_table(beats),
        "beats": beats,
        "class_counts": _class_counts_table(label, split, params),
    }


def _facts_table(arrays: Mapping[str, Any], label: np.ndarray, split: np.ndarray) -> pd.DataFrame:
    """One row: the dataset's size, rate, window shape, non-finite values, shared records."""
    windows = np.asarray(arrays["windows"])
    record = _strings(arrays["record"])
    window_length = int(np.asarray(arrays["window_length"]))
    # a patient in two splits would leak between the test set and the development set
    records_of = {name: set(record[split == name]) for name in SPLITS}
    both = sorted(
        {r for a in SPLITS for b in SPLITS if a < b for r in records_of[a] & records_of[b]}
    )
    finite_windows = np.isfinite(windows.reshape(len(windows), -1)).all(axis=1)
    finite_rr = np.isfinite(np.asarray(arrays["rr"])).all(axis=1)
    return pd.DataFrame(
        {
            "n_beats": [len(label)],
            "fs": [int(np.asarray(arrays["fs"]))],
            "window_shape": [str(tuple(int(d) for d in windows.shape[1:]))],
            "expected_window_shape": [str((N_LEADS, window_length))],
            "n_nonfinite_windows": [int((~finite_windows).sum())],
            "n_nonfinite_rr": [int((~finite_rr).sum())],
            "n_records_in_both": [len(both)],
            "records_in_both": [", ".join(both)],
        }
    )


def _beats_table(arrays: Mapping[str, Any], label: np.ndarray, split: np.ndarray) -> pd.DataFrame:
    """One row per beat: where it is, its labels and its RR features."""
    symbol = _strings(arrays["symbol"])
    rr = np.asarray(arrays["rr"])
    beats = pd.DataFrame(
        {
            "record": pd.Series(_strings(arrays["record"]), dtype=object),
            "sample": np.asarray(arrays["sample"]).astype(np.int64),
            "split": pd.Series(split, dtype=object),
            "symbol": pd.Series(symbol, dtype=object),
            "label": label,
            "label_class": pd.Series(
                [AAMI_CLASSES[i] if 0 <= i < len(AAMI_CLASSES) else f"#{i}" for i in label],
                dtype=object,
            ),
            "symbol_class": pd.Series(
                [SYMBOL_TO_AAMI.get(s, f"non-beat {s!r}") for s in symbol], dtype=object
            ),
        }
    )
    for j, name in enumerate(str(n) for n in _strings(arrays["rr_names"])):
        beats[name] = rr[:, j].astype(np.float64)
    return beats


def _records_table(beats: pd.DataFrame) -> pd.DataFrame:
    """One row per record: its beat count, the splits it is in and the one it belongs to."""
    per_record = beats.groupby("record", sort=True)["split"]
    records = pd.DataFrame(
        {
            "record": per_record.size().index.astype(object),
            "n_beats": per_record.size().to_numpy(),
            "splits": per_record.agg(lambda s: "+".join(sorted(set(s)))).to_numpy(),
        }
    )
    records["record"] = records["record"].astype(object)
    records["splits"] = records["splits"].astype(object)
    records["expected_split"] = pd.Series([_split_of(r) for r in records["record"]], dtype=object)
    return records


def _class_counts_table(
    label: np.ndarray, split: np.ndarray, params: ValidateDatasetParams
) -> pd.DataFrame:
    """Per split and class: the count, the published one and the tolerated band around it."""
    rows = []
    for split_name, expected_counts in params.expected_counts.items():
        in_split = label[split == split_name]
        for i, cls in enumerate(AAMI_CLASSES):
            expected = int(expected_counts.get(cls, 0))
            low, high = tolerance_band(expected, params)
            rows.append(
                {
                    "split": split_name,
                    "class": cls,
                    "count": int((in_split == i).sum()),
                    "expected": expected,
                    "low": low,
                    "high": high,
                }
            )
    return pd.DataFrame(rows, columns=["split", "class", "count", "expected", "low", "high"])


def is_interval(rr_name: str) -> bool:
    """RR features named *_rr are intervals in seconds; the others are ratios."""
    return rr_name.endswith("_rr")


def dataset_expectations(
    params: ValidateDatasetParams, rr_names: list[str], window_length: int
) -> dict[str, list[Any]]:
    e = import_gx().expectations
    facts = [
        e.ExpectColumnValuesToBeInSet(column="n_nonfinite_windows", value_set=[0]),
        e.ExpectColumnValuesToBeInSet(column="n_nonfinite_rr", value_set=[0]),
        e.ExpectColumnValuesToBeInSet(
            column="window_shape", value_set=[str((N_LEADS, int(window_length)))]
        ),
        e.ExpectColumnValuesToBeInSet(column="fs", value_set=[MITDB_FS]),
        e.ExpectColumnValuesToBeInSet(column="n_records_in_both", value_set=[0]),
        e.ExpectColumnValuesToBeBetween(column="n_beats", min_value=1),
    ]
    records = [
        e.ExpectColumnValuesToNotBeInSet(column="record", value_set=sorted(PACED_RECORDS)),
        e.ExpectColumnValuesToBeInSet(
            column="record", value_set=sorted(r for records in SPLITS.values() for r in records)
        ),
        e.ExpectColumnValuesToBeInSet(column="splits", value_set=list(SPLITS)),
        e.ExpectColumnPairValuesToBeEqual(column_A="splits", column_B="expected_split"),
    ]
    beats = [
        e.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)),
        e.ExpectColumnValuesToBeBetween(
            column="label", min_value=0, max_value=len(AAMI_CLASSES) - 1
        ),
        e.ExpectColumnValuesToBeInSet(column="symbol", value_set=sorted(SYMBOL_TO_AAMI)),
        e.ExpectColumnPairValuesToBeEqual(column_A="label_class", column_B="symbol_class"),
        e.ExpectCompoundColumnsToBeUnique(column_list=["record", "sample"]),
    ]
    for name in rr_names:
        if is_interval(name):
            beats.append(
                e.ExpectColumnValuesToBeBetween(
                    column=name, min_value=params.rr_min_s, max_value=params.rr_max_s
                )
            )
        else:
            beats.append(e.ExpectColumnValuesToBeBetween(column=name, min_value=0, strict_min=True))
    class_counts = [
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="count", column_B="low", or_equal=True),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high", column_B="count", or_equal=True),
    ]
    return {"facts": facts, "records": records, "beats": beats, "class_counts": class_counts}


def validate_beat_dataset(
    arrays: Mapping[str, np.ndarray],
    params: ValidateDatasetParams,
    report_dir: str | Path,
    name: str = "dataset",
) -> ValidationOutcome:
    """Validate the beat dataset; write Data Docs + summary.json into `report_dir`.

    Raises ValidationFailed only when the arrays cannot be tabulated; failed expectations are
    returned in the outcome.
    """
    tables = dataset_tables(arrays, params)
    rr_names = [str(n) for n in _strings(arrays["rr_names"])]
    expectations = dataset_expectations(params, rr_names, int(np.asarray(arrays["window_length"])))
    return run_suites(
        name,
        [(t, tables[t], expectations[t]) for t in ("facts", "records", "beats", "class_counts")],
        report_dir,
        id_columns=DATASET_ID_COLUMNS,
    )
