"""The record a passed validation leaves for later stages: the same bytes for the same data."""

from __future__ import annotations

import json
import shutil

from arrhythmia.data.records import record_files
from arrhythmia.validation.raw import validate_raw_records
from arrhythmia.validation.receipt import input_digests, write_receipt

RECORDS = ("100", "119")
EXCERPT_SIG_LEN = 10800


def _validate_and_record(raw_dir, report_dir, receipt):
    outcome = validate_raw_records(raw_dir, RECORDS, report_dir, expected_sig_len=EXCERPT_SIG_LEN)
    assert outcome.success, outcome.summary()
    inputs = input_digests([raw_dir / f for f in record_files(RECORDS)], raw_dir)
    write_receipt(receipt, outcome, inputs)
    return outcome


def test_a_rerun_on_unchanged_data_writes_the_same_bytes(tmp_path, excerpt_copy):
    first = _validate_and_record(excerpt_copy, tmp_path / "report1", tmp_path / "first.json")
    second = _validate_and_record(excerpt_copy, tmp_path / "report2", tmp_path / "second.json")
    assert (tmp_path / "first.json").read_bytes() == (tmp_path / "second.json").read_bytes()
    assert first.summary() != "" and second.success

    receipt = json.loads((tmp_path / "first.json").read_text())
    assert receipt["passed"] is True and receipt["validation"] == "raw"
    assert sorted(receipt["inputs_sha256"]) == sorted(record_files(RECORDS))
    assert receipt["expectations_evaluated"] == len(receipt["checks"]) > 5
    assert any("fs" in check for check in receipt["checks"])


def test_changed_input_bytes_change_the_record(tmp_path, excerpt_copy):
    _validate_and_record(excerpt_copy, tmp_path / "r1", tmp_path / "before.json")
    changed = tmp_path / "changed"
    shutil.copytree(excerpt_copy, changed)
    annotations = changed / "100.atr"
    annotations.write_bytes(annotations.read_bytes() + b"\x00\x00")
    _validate_and_record(changed, tmp_path / "r2", tmp_path / "after.json")
    before = json.loads((tmp_path / "before.json").read_text())["inputs_sha256"]
    after = json.loads((tmp_path / "after.json").read_text())["inputs_sha256"]
    assert before["100.atr"] != after["100.atr"] and before["119.dat"] == after["119.dat"]
