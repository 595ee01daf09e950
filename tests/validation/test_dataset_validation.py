"""Great Expectations checks on the beat dataset, on a small synthetic dataset."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from arrhythmia.config import ValidateDatasetParams
from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.validation.dataset import dataset_tables, tolerance_band, validate_beat_dataset
from arrhythmia.validation.gx_runner import ValidationFailed, ValidationOutcome

PARAMS = ValidateDatasetParams(
    expected_counts={
        "DS1": {"N": 100, "S": 10, "V": 12, "F": 4, "Q": 0},
        "DS2": {"N": 80, "S": 8, "V": 9, "F": 3, "Q": 0},
    },
    relative_tolerance=0.05,
    absolute_tolerance=2,
    rr_min_s=0.15,
    rr_max_s=6.0,
)
SYMBOL_OF = {"N": "N", "S": "A", "V": "V", "F": "F", "Q": "Q"}
RECORDS_OF = {"DS1": ("101", "106", "108"), "DS2": ("100", "103", "105")}
RR_NAMES = ("pre_rr", "post_rr", "local_rr", "sinus_rr", "record_rr", "pre_local_ratio")
L = 16


def make_arrays() -> dict[str, np.ndarray]:
    """A dataset that meets every expectation of PARAMS."""
    rows = []
    for split, counts in PARAMS.expected_counts.items():
        for cls, n in counts.items():
            rows += [(split, cls)] * n
    n = len(rows)
    splits = np.array([s for s, _ in rows])
    classes = [c for _, c in rows]
    records = np.empty(n, dtype="<U3")
    for split, names in RECORDS_OF.items():
        idx = np.flatnonzero(splits == split)
        records[idx] = [names[i % len(names)] for i in range(len(idx))]
    rng = np.random.default_rng(0)
    rr = np.full((n, len(RR_NAMES)), 0.8, dtype=np.float32)
    rr[:, -1] = 1.0
    return {
        "windows": rng.normal(size=(n, 2, L)).astype(np.float32),
        "label": np.array([AAMI_CLASSES.index(c) for c in classes], dtype=np.int8),
        "symbol": np.array([SYMBOL_OF[c] for c in classes]),
        "record": records,
        "sample": np.arange(n, dtype=np.int64) * 300 + 100,
        "split": splits,
        "rr": rr,
        "rr_names": np.array(RR_NAMES),
        "fs": np.array(360),
        "window_length": np.array(L),
    }


@pytest.fixture
def arrays() -> dict[str, np.ndarray]:
    return make_arrays()


def _failure(outcome: ValidationOutcome, *needles: str) -> str:
    hits = [line for line in outcome.failures if all(n in line for n in needles)]
    assert hits, f"no failure line with {needles}:\n{outcome.summary()}"
    return hits[0]


def test_valid_dataset_passes(arrays, tmp_path: Path) -> None:
    outcome = validate_beat_dataset(arrays, PARAMS, tmp_path / "gx" / "dataset")

    assert outcome.success, outcome.summary()
    assert outcome.report_path.is_file() and outcome.report_path.name == "index.html"
    assert json.loads(outcome.summary_path.read_text())["failed"] == 0
    assert dict(outcome.tables) == {"facts": 1, "records": 6, "beats": 226, "class_counts": 10}


def test_tables(arrays) -> None:
    tables = dataset_tables(arrays, PARAMS)
    facts = tables["facts"].iloc[0]
    assert facts["window_shape"] == f"(2, {L})" and facts["n_records_in_both"] == 0
    counts = tables["class_counts"].set_index(["split", "class"])
    assert counts.loc[("DS1", "N"), "count"] == 100
    assert (counts.loc[("DS1", "N"), "low"], counts.loc[("DS1", "N"), "high"]) == (95, 105)
    assert set(tables["beats"].columns) >= {"label_class", "symbol_class", *RR_NAMES}


def test_tolerance_band_uses_the_larger_tolerance() -> None:
    assert tolerance_band(100, PARAMS) == (95, 105)  # 5 % of 100
    assert tolerance_band(10, PARAMS) == (8, 12)  # absolute 2 beats
    assert tolerance_band(0, PARAMS) == (-2, 2)


def test_nan_window_fails(arrays, tmp_path: Path) -> None:
    arrays["windows"][7, 1, 3] = np.nan

    outcome = validate_beat_dataset(arrays, PARAMS, tmp_path / "gx")

    assert outcome.failed == 1
    assert _failure(outcome, "facts: ", "(n_nonfinite_windows").endswith("failed: observed 1")


def test_wrong_window_shape_fails(arrays, tmp_path: Path) -> None:
    arrays["window_length"] = np.array(L + 1)

    outcome = validate_beat_dataset(arrays, PARAMS, tmp_path / "gx")

    line = _failure(outcome, "(window_shape")
    assert f"value_set=['(2, {L + 1})']" in line and f"observed '(2, {L})'" in line


def test_record_in_both_splits_fails(arrays, tmp_path: Path) -> None:
    ds2 = np.flatnonzero(arrays["split"] == "DS2")
    arrays["record"][ds2[:3]] = "101"  # a DS1 patient's beats labelled DS2

    outcome = validate_beat_dataset(arrays, PARAMS, tmp_path / "gx")

    assert _failure(outcome, "(n_records_in_both").endswith("observed 1")
    assert "'DS1+DS2' (record 101)" in _failure(outcome, "records: ", "(splits, value_set")
    line = _failure(outcome, "(splits, expected_split)")
    assert "splits='DS1+DS2', expected_split='DS1' (record 101)" in line


def test_paced_record_fails(arrays, tmp_path: Path) -> None:
    arrays["record"][arrays["record"] == "106"] = "102"

    outcome = validate_beat_dataset(arrays, PARAMS, tmp_path / "gx")

    line = _failure(outcome, "records: expect_column_values_to_not_be_in_set(record")
    assert "value_set=['102', '104', '107', '217']" in line and "e.g. '102'" in line
    assert "expected_split='paced'" in _failure(outcome, "(splits, expected_split)")


def test_record_in_the_wrong_split_fails(arrays, tmp_path: Path) -> None:
    arrays["record"][arrays["record"] == "100"] = "109"  # 109 is a DS1 record

    outcome = validate_beat_dataset(arrays, PARAMS, tmp_path / "gx")

    assert outcome.failed == 1
    line = _failure(outcome, "(splits, expected_split)")
    assert "splits='DS2', expected_split='DS1' (record 109)" in line


def test_class_count_out_of_tolerance_names_the_class(arrays, tmp_path: Path) -> None:
    counts = {**PARAMS.expected_counts, "DS1": {**PARAMS.expected_counts["DS1"], "V": 40}}
    params = dataclasses.replace(PARAMS, expected_counts=counts)

    outcome = validate_beat_dataset(arrays, params, tmp_path / "gx")

    assert outcome.failed == 1
    line = _failure(outcome, "class_counts: ", "(count, low, or_equal=True)")
    assert "count=12, low=38 (split DS1, class V, expected 40)" in line


def test_short_rr_interval_fails(arrays, tmp_path: Path) -> None:
    arrays["rr"][5, RR_NAMES.index("post_rr")] = 0.05

    outcome = validate_beat_dataset(arrays, PARAMS, tmp_path / "gx")

    assert outcome.failed == 1
    line = _failure(outcome, "beats: expect_column_values_to_be_between(post_rr")
    sample = arrays["sample"][5]
    assert "min_value=0.15, max_value=6" in line
    assert (
        f"1 of 226 rows unexpected, e.g. 0.05 (record {arrays['record'][5]}, sample {sample})"
        in line
    )


def test_label_inconsistent_with_symbol_fails(arrays, tmp_path: Path) -> None:
    arrays["symbol"][0] = "V"  # an N label on a PVC; counts stay within tolerance

    outcome = validate_beat_dataset(arrays, PARAMS, tmp_path / "gx")

    assert outcome.failed == 1
    line = _failure(outcome, "(label_class, symbol_class)")
    assert "label_class='N', symbol_class='V' (record 101, sample 100)" in line


def test_each_problem_gets_its_own_line(arrays, tmp_path: Path) -> None:
    arrays["rr"][3, 0] = np.inf
    arrays["rr"][2, RR_NAMES.index("pre_local_ratio")] = 0.0
    arrays["label"][1] = 7
    arrays["split"][4] = "DS3"

    outcome = validate_beat_dataset(arrays, PARAMS, tmp_path / "gx")

    assert _failure(outcome, "(n_nonfinite_rr").endswith("failed: observed 1")
    assert "inf (record 101" in _failure(outcome, "(pre_rr, min_value=0.15, max_value=6)")
    assert "strict_min=True" in _failure(outcome, "(pre_local_ratio, min_value=0")
    assert "e.g. 7 (record" in _failure(outcome, "(label, min_value=0, max_value=4)")
    assert "e.g. 'DS3' (record" in _failure(outcome, "beats: ", "(split, value_set")
    assert "label_class='#7', symbol_class='N'" in _failure(outcome, "(label_class, symbol_class)")


def test_malformed_arrays_raise(arrays, tmp_path: Path) -> None:
    del arrays["rr_names"]
    with pytest.raises(ValidationFailed, match="missing array.*rr_names"):
        validate_beat_dataset(arrays, PARAMS, tmp_path / "gx")

    short = make_arrays()
    short["label"] = short["label"][:-1]
    with pytest.raises(ValidationFailed, match="differ in length.*label=225"):
        validate_beat_dataset(short, PARAMS, tmp_path / "gx")


def test_summary_is_readable(arrays, tmp_path: Path) -> None:
    arrays["windows"][0, 0, 0] = np.nan
    arrays["rr"][5, 0] = 0.05

    summary = validate_beat_dataset(arrays, PARAMS, tmp_path / "gx").summary()

    lines = summary.splitlines()
    assert lines[0].startswith("Data validation 'dataset' FAILED: ")
    assert "2 failed" in lines[0]
    assert any(line.startswith("  - facts: ") for line in lines)
    assert lines[-2].startswith("HTML report: ") and lines[-2].endswith("index.html")
