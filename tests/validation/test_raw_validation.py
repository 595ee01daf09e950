"""Great Expectations checks on raw WFDB records, run on the committed 30-s excerpts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from arrhythmia.validation.gx_runner import ValidationOutcome
from arrhythmia.validation.raw import (
    raw_record_tables,
    validate_raw_records,
    validate_raw_tables,
)

RECORDS = ("100", "119", "208", "232")
EXCERPT_SIG_LEN = 10800


def _validate(raw_dir: Path, report_dir: Path, records=RECORDS) -> ValidationOutcome:
    return validate_raw_records(raw_dir, records, report_dir, expected_sig_len=EXCERPT_SIG_LEN)


def _failure(outcome: ValidationOutcome, *needles: str) -> str:
    """The one failure line that contains every needle."""
    hits = [line for line in outcome.failures if all(n in line for n in needles)]
    assert hits, f"no failure line with {needles}:\n{outcome.summary()}"
    return hits[0]


def _set_first_sample(dat: Path, value: int) -> None:
    """Overwrite signal 0 of frame 0 in a format-212 file (12-bit two's complement)."""
    data = bytearray(dat.read_bytes())
    code = value & 0xFFF
    data[0] = code & 0xFF
    data[1] = (data[1] & 0xF0) | (code >> 8)
    dat.write_bytes(bytes(data))


def test_excerpts_pass_and_write_reports(excerpt_dir: Path, tmp_path: Path) -> None:
    report_dir = tmp_path / "reports" / "gx" / "raw"
    outcome = _validate(excerpt_dir, report_dir)

    assert outcome.success, outcome.summary()
    assert outcome.failed == 0 and outcome.failures == ()
    assert outcome.evaluated == 17
    assert outcome.report_path == report_dir.resolve() / "index.html"
    assert outcome.report_path.is_file()
    assert list(report_dir.glob("validations/**/*.html"))  # one page per table
    summary = json.loads((report_dir / "summary.json").read_text())
    assert summary["success"] is True
    assert summary["tables"]["records"] == 4
    assert "PASSED" in outcome.summary() and str(outcome.report_path) in outcome.summary()


def test_tables_are_tidy(excerpt_dir: Path) -> None:
    tables = raw_record_tables(excerpt_dir, RECORDS)
    records, annotations = tables["records"], tables["annotations"]

    assert list(records["record"]) == list(RECORDS)
    assert records["read_error"].isna().all()
    assert (records["fs"] == 360).all() and (records["sig_len"] == EXCERPT_SIG_LEN).all()
    assert set(records["adc_min"]) == {0} and set(records["adc_max"]) == {2047}
    assert records.loc[records["record"] == "100", "lead_1"].item() == "V5"
    assert records["n_annotations"].sum() == len(annotations)
    first = annotations.groupby("record")["gap_to_previous"].first()
    assert (first == 0).all()
    assert (annotations["gap_to_previous"] >= 0).all()


def test_full_length_expected_by_default(excerpt_dir: Path, tmp_path: Path) -> None:
    outcome = validate_raw_records(excerpt_dir, ["100"], tmp_path / "gx")

    line = _failure(outcome, "sig_len", "value_set=[650000]")
    assert line.endswith("failed: observed 10800 (record 100)")


def test_wrong_sampling_frequency_fails(excerpt_copy: Path, tmp_path: Path) -> None:
    header = excerpt_copy / "100.hea"
    lines = header.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace(" 360 ", " 250 ")
    header.write_text("".join(lines))

    outcome = _validate(excerpt_copy, tmp_path / "gx")

    assert not outcome.success
    line = _failure(outcome, "expect_column_values_to_be_in_set(fs")
    assert line.startswith("records: ")
    assert "value_set=[360]" in line and "1 of 4 rows" in line and "250 (record 100)" in line
    assert "FAILED" in outcome.summary() and line in outcome.summary()


def test_unknown_annotation_symbol_fails(excerpt_copy: Path, tmp_path: Path) -> None:
    import wfdb

    ann = wfdb.rdann(str(excerpt_copy / "119"), "atr")
    symbols = list(ann.symbol)
    symbols[2] = "X"
    # Without custom_labels wrann silently rewrites an unknown symbol to '"'.
    custom = pd.DataFrame({"label_store": [42], "symbol": ["X"], "description": ["bogus"]})
    wfdb.wrann("119", "atr", ann.sample, symbol=symbols, custom_labels=custom,
               write_dir=str(excerpt_copy))  # fmt: skip

    outcome = _validate(excerpt_copy, tmp_path / "gx")

    line = _failure(outcome, "annotations: expect_column_values_to_be_in_set(symbol")
    assert f"'X' (record 119, sample {ann.sample[2]})" in line
    assert outcome.failed == 1


def test_injected_annotation_problems_fail(excerpt_dir: Path, tmp_path: Path) -> None:
    tables = raw_record_tables(excerpt_dir, RECORDS)
    annotations = tables["annotations"]
    annotations.loc[5, "symbol"] = "?!"
    annotations.loc[7, "sample"] = EXCERPT_SIG_LEN + 3
    annotations.loc[9, "gap_to_previous"] = -4

    outcome = validate_raw_tables(tables, tmp_path / "gx", expected_sig_len=EXCERPT_SIG_LEN)

    assert outcome.failed == 3
    assert "'?!'" in _failure(outcome, "(symbol")
    assert f"sample={EXCERPT_SIG_LEN + 3}" in _failure(outcome, "(sig_len, sample)")
    assert "-4 (record 100" in _failure(outcome, "(gap_to_previous, min_value=0)")


def test_missing_annotation_file_names_the_record(excerpt_copy: Path, tmp_path: Path) -> None:
    (excerpt_copy / "119.atr").unlink()

    outcome = _validate(excerpt_copy, tmp_path / "gx")

    assert outcome.failed == 1
    line = _failure(outcome, "read_error")
    assert "'cannot read annotations: 119.atr: No such file or directory' (record 119)" in line


def test_unreadable_header_and_truncated_signal(excerpt_copy: Path, tmp_path: Path) -> None:
    dat = excerpt_copy / "208.dat"
    dat.write_bytes(dat.read_bytes()[:3000])

    outcome = _validate(excerpt_copy, tmp_path / "gx", records=(*RECORDS, "999"))

    line = _failure(outcome, "read_error")
    assert "2 of 5 rows" in line
    assert "'cannot read header: 999.hea: No such file or directory' (record 999)" in line
    assert "cannot read signals: 208.dat is truncated: 3,000 bytes" in line
    assert outcome.failed == 1  # the other records are still checked and pass


def test_value_outside_adc_range_and_missing_sample_fail(
    excerpt_copy: Path, tmp_path: Path
) -> None:
    _set_first_sample(excerpt_copy / "232.dat", -5)  # 11-bit ADC, zero 1024: range 0..2047
    _set_first_sample(excerpt_copy / "100.dat", -2048)  # format 212's "no sample" value

    outcome = _validate(excerpt_copy, tmp_path / "gx")

    assert outcome.failed == 2
    line = _failure(outcome, "(d_min, adc_min, or_equal=True)")
    assert "1 of 4 rows unexpected, e.g. d_min=-5, adc_min=0 (record 232)" in line
    assert "e.g. 1 (record 100)" in _failure(outcome, "(n_nan, min_value=0, max_value=0)")


def test_import_does_not_load_great_expectations() -> None:
    code = (
        "import sys, arrhythmia.validation.raw, arrhythmia.validation.dataset; "
        "print('great_expectations' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_missing_column_is_reported(excerpt_dir: Path, tmp_path: Path) -> None:
    tables = raw_record_tables(excerpt_dir, ["100"])
    tables["records"] = tables["records"].drop(columns=["lead_1"])

    outcome = validate_raw_tables(tables, tmp_path / "gx", expected_sig_len=EXCERPT_SIG_LEN)

    line = _failure(outcome, "(lead_1")
    assert 'could not run: Error: The column "lead_1" in BatchData does not exist.' in line


@pytest.mark.parametrize("value, text", [(250.0, "250"), (0.05, "0.05"), ("V1", "'V1'")])
def test_values_are_shown_plainly(value, text) -> None:
    from arrhythmia.validation.gx_runner import format_value

    assert format_value(value) == text


def _svdb_spec():
    from dataclasses import replace

    from arrhythmia.validation.raw import SVDB_RAW
    from tests.conftest import SVDB_EXCERPT_SIG_LEN

    return replace(SVDB_RAW, sig_len=SVDB_EXCERPT_SIG_LEN)


def _both_databases(mitdb_dir: Path, svdb_dir: Path):
    from dataclasses import replace

    from arrhythmia.validation.raw import MITDB_RAW
    from tests.conftest import SVDB_EXCERPT_RECORDS

    return [(mitdb_dir, RECORDS, replace(MITDB_RAW, sig_len=EXCERPT_SIG_LEN)),
            (svdb_dir, SVDB_EXCERPT_RECORDS, _svdb_spec())]  # fmt: skip


def test_mitdb_and_svdb_pass_in_one_validation_each_against_its_own_facts(
    excerpt_dir: Path, tmp_path: Path
) -> None:
    from arrhythmia.validation.raw import validate_raw_databases
    from tests.conftest import SVDB_EXCERPT_DIR

    outcome = validate_raw_databases(_both_databases(excerpt_dir, SVDB_EXCERPT_DIR), tmp_path)
    assert outcome.success, outcome.summary()
    assert dict(outcome.tables)["svdb_records"] == 2 and dict(outcome.tables)["records"] == 4
    assert outcome.evaluated == 34  # 17 expectations per database


def test_an_svdb_record_at_mitdb_rate_fails_and_names_the_svdb_table(
    excerpt_dir: Path, tmp_path: Path
) -> None:
    import shutil

    from arrhythmia.validation.raw import validate_raw_databases
    from tests.conftest import SVDB_EXCERPT_DIR

    svdb = tmp_path / "svdb"
    shutil.copytree(SVDB_EXCERPT_DIR, svdb)
    header = svdb / "822.hea"
    header.write_text(header.read_text().replace("822 2 128 7680", "822 2 360 7680", 1))
    outcome = validate_raw_databases(_both_databases(excerpt_dir, svdb), tmp_path / "gx")
    assert not outcome.success
    line = _failure(outcome, "svdb_records", "fs")
    assert "822" in line
    assert len(outcome.failures) == 1  # MITDB still passes; no other SVDB fact fails


def test_svdb_samples_may_use_the_format_bits_its_headers_understate(tmp_path: Path) -> None:
    import shutil
    from dataclasses import replace

    from arrhythmia.validation.raw import MITDB_RAW, validate_raw_databases
    from tests.conftest import SVDB_EXCERPT_DIR

    svdb = tmp_path / "svdb"
    shutil.copytree(SVDB_EXCERPT_DIR, svdb)
    header = svdb / "822.hea"  # as SVDB's own headers: 10-bit ADC, format 212 (12 bits)
    header.write_text(header.read_text().replace("/mV 12 0", "/mV 10 0"))
    _set_first_sample(svdb / "822.dat", 700)  # beyond 10 bits, within 12
    as_svdb = validate_raw_databases([(svdb, ("822",), _svdb_spec())], tmp_path / "a")
    assert as_svdb.success, as_svdb.summary()
    as_mitdb = replace(MITDB_RAW, fs=128, sig_len=7680, leads_0=("ECG1",), leads_1=("ECG2",))
    strict = validate_raw_databases([(svdb, ("822",), as_mitdb)], tmp_path / "b")
    assert "d_max" in _failure(strict, "records", "adc_max")


def test_cinc_strips_pass_beside_the_databases_and_a_bad_strip_is_named(
    excerpt_dir: Path, tmp_path: Path
) -> None:
    import shutil

    from arrhythmia.validation.raw import validate_raw_databases
    from arrhythmia.validation.strips import strip_suite
    from tests.conftest import SVDB_EXCERPT_DIR

    cinc = tmp_path / "cinc"
    shutil.copytree(Path(__file__).parents[1] / "data" / "cinc2017_excerpt", cinc)
    labels = {"A00006": "N", "A00009": "A"}
    databases = _both_databases(excerpt_dir, SVDB_EXCERPT_DIR)
    good = validate_raw_databases(
        databases, tmp_path / "ok", extra_suites=[strip_suite(cinc, labels)]
    )
    assert good.success, good.summary()
    assert dict(good.tables)["cinc2017_strips"] == 2 and good.evaluated == 34 + 7

    (cinc / "A00009.mat").write_bytes(b"not a signal")
    labels["A00006"] = "X"  # not a CinC label
    bad = validate_raw_databases(
        databases, tmp_path / "bad", extra_suites=[strip_suite(cinc, labels)]
    )
    assert not bad.success and bad.failed >= 2
    assert "A00009" in _failure(bad, "cinc2017_strips", "read_error")
    assert "A00006" in _failure(bad, "cinc2017_strips", "label")


@pytest.mark.slow
def test_vfdb_and_cudb_records_pass_each_against_its_own_facts(
    full_mirrors: dict, tmp_path: Path
) -> None:
    from arrhythmia.validation.raw import CUDB_RAW, VFDB_RAW, validate_raw_databases

    # cu23: 2 416 samples saturated by defibrillation, stored as the format's invalid value
    databases = [(full_mirrors["vfdb"], ("418", "611"), VFDB_RAW),
                 (full_mirrors["cudb"], ("cu01", "cu23"), CUDB_RAW)]  # fmt: skip
    outcome = validate_raw_databases(databases, tmp_path)
    assert outcome.success, outcome.summary()
    assert dict(outcome.tables)["vfdb_records"] == 2 and dict(outcome.tables)["cudb_records"] == 2


@pytest.mark.slow
def test_a_two_lead_record_fails_as_cudb_and_names_what_differs(
    full_mirrors: dict, tmp_path: Path
) -> None:
    from arrhythmia.validation.raw import CUDB_RAW, validate_raw_databases

    outcome = validate_raw_databases([(full_mirrors["vfdb"], ("418",), CUDB_RAW)], tmp_path)
    assert not outcome.success
    for column in ("n_sig", "sig_len", "fmt_1", "lead_1"):
        assert "418" in _failure(outcome, "cudb_records", column)


def test_the_vfdb_and_cudb_excerpts_pass_as_their_databases_at_their_length(
    tmp_path: Path,
) -> None:
    from dataclasses import replace

    from arrhythmia.validation.raw import CUDB_RAW, VFDB_RAW, validate_raw_databases
    from tests.conftest import CUDB_EXCERPT_DIR, VFDB_EXCERPT_DIR

    excerpts = [(VFDB_EXCERPT_DIR, ("611",), replace(VFDB_RAW, sig_len=15000)),
                (CUDB_EXCERPT_DIR, ("cu01",), replace(CUDB_RAW, sig_len=15000))]  # fmt: skip
    outcome = validate_raw_databases(excerpts, tmp_path)
    assert outcome.success, outcome.summary()
    swapped = [(VFDB_EXCERPT_DIR, ("611",), replace(CUDB_RAW, sig_len=15000))]
    assert "611" in _failure(
        validate_raw_databases(swapped, tmp_path / "b"), "cudb_records", "n_sig"
    )


@pytest.mark.parametrize(("clipped", "passes"), [(300, True), (400, False)])
def test_cudb_allows_a_few_clipped_samples_and_no_more(
    tmp_path: Path, clipped: int, passes: bool
) -> None:
    """CUDB's cap is 2.5 % of a record's samples stored as the invalid value: 375 of the
    excerpt's 15 000."""
    import shutil
    from dataclasses import replace

    import wfdb

    from arrhythmia.validation.raw import CUDB_RAW, validate_raw_databases
    from tests.conftest import CUDB_EXCERPT_DIR

    record = wfdb.rdrecord(str(CUDB_EXCERPT_DIR / "cu01"), physical=False)
    signal = record.d_signal.copy()
    signal[:clipped] = -2048  # format 212's invalid value, as a clipped lower rail is stored
    wfdb.wrsamp("cu01", fs=record.fs, units=record.units, sig_name=record.sig_name,
                d_signal=signal, fmt=record.fmt, adc_gain=record.adc_gain,
                baseline=record.baseline, write_dir=str(tmp_path))  # fmt: skip
    shutil.copy(CUDB_EXCERPT_DIR / "cu01.atr", tmp_path)
    spec = replace(CUDB_RAW, sig_len=15000)
    outcome = validate_raw_databases([(tmp_path, ("cu01",), spec)], tmp_path / "gx")
    assert outcome.success == passes, outcome.summary()
    if not passes:
        assert "max_value=375) failed: observed 400 (record cu01)" in _failure(outcome, "n_nan")
