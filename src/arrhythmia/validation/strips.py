"""Great Expectations checks on the raw CinC 2017 strips the strip AF call learns from: one
row per strip (header facts, NaN count, its label), each strip read with wfdb. A strip wfdb
cannot read sets `read_error`, which fails an expectation that names it; the others are still
checked."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arrhythmia.data.records import CINC2017_FS, CINC2017_LABELS
from arrhythmia.validation.gx_runner import import_gx

SUITE = "cinc2017_strips"
MIN_S, MAX_S = 8.0, 62.0  # the challenge's recordings last 9 to just over 60 s
STRIP_COLUMNS = ("record", "read_error", "fs", "n_sig", "sig_len", "n_nan", "label")


def _strip_row(raw_dir: Path, name: str, label: str) -> dict[str, Any]:
    import wfdb

    row: dict[str, Any] = dict.fromkeys(STRIP_COLUMNS)
    row.update(record=name, label=label)
    try:
        record = wfdb.rdrecord(str(raw_dir / name))
    except Exception as error:  # wfdb raises many kinds on damaged files
        row["read_error"] = f"{type(error).__name__}: {error}".splitlines()[0][:200]
        return row
    signal = np.asarray(record.p_signal)
    row.update(
        fs=float(record.fs),
        n_sig=int(record.n_sig),
        sig_len=int(record.sig_len),
        n_nan=int(np.isnan(signal).sum()),
    )
    return row


def strip_table(raw_dir: str | Path, labels: Mapping[str, str]) -> pd.DataFrame:
    """One row per strip of `labels` (name -> CinC label) in `raw_dir`."""
    rows = [_strip_row(Path(raw_dir), name, label) for name, label in sorted(labels.items())]
    table = pd.DataFrame(rows, columns=list(STRIP_COLUMNS))
    for column in ("record", "read_error", "label"):
        table[column] = table[column].astype(object)
    for column in ("n_sig", "sig_len", "n_nan"):
        table[column] = table[column].astype("Int64")
    table["fs"] = table["fs"].astype(float)
    return table


def strip_expectations() -> list[Any]:
    e = import_gx().expectations
    return [
        e.ExpectColumnValuesToBeNull(column="read_error"),
        e.ExpectColumnValuesToBeInSet(column="fs", value_set=[float(CINC2017_FS)]),
        e.ExpectColumnValuesToBeInSet(column="n_sig", value_set=[1]),
        e.ExpectColumnValuesToBeBetween(
            column="sig_len", min_value=int(MIN_S * CINC2017_FS), max_value=int(MAX_S * CINC2017_FS)
        ),
        e.ExpectColumnValuesToBeInSet(column="n_nan", value_set=[0]),
        e.ExpectColumnValuesToBeInSet(column="label", value_set=list(CINC2017_LABELS)),
        e.ExpectColumnValuesToBeUnique(column="record"),
    ]


def strip_suite(raw_dir: str | Path, labels: Mapping[str, str]) -> tuple[str, pd.DataFrame, list]:
    """The (name, table, expectations) of the strips, for gx_runner.run_suites."""
    return SUITE, strip_table(raw_dir, labels), strip_expectations()
