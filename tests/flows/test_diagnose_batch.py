"""The batch flow hands records out in batches: in order, each record once, with retries and
failures still per record."""

from __future__ import annotations

import pytest

from tests.conftest import EXCERPT_RECORDS


def test_batches_keep_the_order_and_close_once_they_reach_the_size(tmp_path):
    from flows.diagnose_batch import record_batches, record_bytes

    sizes = {"a": 300, "b": 500, "c": 100, "d": 900, "e": 10}
    for name, size in sizes.items():
        (tmp_path / f"{name}.hea").write_bytes(b"h" * 50)
        (tmp_path / f"{name}.dat").write_bytes(b"x" * size)
        (tmp_path / f"{name}.atr").write_bytes(b"a" * 10_000)  # annotations do not count
    (tmp_path / "x.edf").write_bytes(b"e" * 700)
    records = [str(tmp_path / n) for n in sizes] + [str(tmp_path / "x.edf")]

    assert record_bytes(records[0]) == 350  # header and signal
    assert record_bytes(f"{records[0]}.hea") == record_bytes(f"{records[0]}.dat") == 350
    assert record_bytes(str(tmp_path / "x.edf")) == 700
    assert record_bytes(str(tmp_path / "missing")) == 0  # reported when it is diagnosed
    assert record_bytes(str(tmp_path / "nowhere" / "100")) == 0

    batches = record_batches(records, max_bytes=800)
    assert [[r.rsplit("/", 1)[-1] for r in b] for b in batches] == [
        ["a", "b"],  # 350 + 550 reaches 800
        ["c", "d"],
        ["e", "x.edf"],
    ]
    named_by_header = [f"{r}.hea" for r in records[:5]]
    assert [len(b) for b in record_batches(named_by_header, max_bytes=800)] == [2, 2, 1]
    assert record_batches(records, max_bytes=1) == [[r] for r in records]
    assert record_batches([]) == []


def test_a_record_that_failed_on_an_io_hiccup_is_tried_again_alone(monkeypatch):
    import flows.diagnose_batch as batch_flow
    from flows.diagnose_batch import RETRIES, RecordFailure, diagnose_records

    def all_into(diagnoser, records, out, page):
        outcomes = {
            "a": ["predict: a"],
            "b": ConnectionResetError("the share went away"),
            "c": FileNotFoundError("c: no such record"),
            "d": TimeoutError("the share is gone"),
        }
        return [(r, outcomes[r]) for r in records]

    tried = []

    def one_into(diagnoser, record, out, page):
        tried.append(record)
        if record == "d":
            raise TimeoutError("the share is still gone")
        return [f"predict: {record} again"]

    monkeypatch.setattr(batch_flow, "_loaded", lambda options, identity: object())
    monkeypatch.setattr(batch_flow, "diagnose_all_into", all_into)
    monkeypatch.setattr(batch_flow, "diagnose_into", one_into)
    monkeypatch.setattr(batch_flow, "RETRY_DELAY_S", 0.0)

    outcomes = diagnose_records.fn("a .. d", ["a", "b", "c", "d"], "out", None, (), False)

    # a missing file fails the same way every time: not retried; d gives up after RETRIES
    assert sorted(tried) == ["b"] + ["d"] * RETRIES and RETRIES >= 1
    assert outcomes[:2] == [["predict: a"], ["predict: b again"]]
    error = "python -m flows.diagnose_batch: error:"
    assert outcomes[2] == RecordFailure(f"{error} c: c: no such record")
    assert outcomes[3] == RecordFailure(f"{error} d: the share is still gone")  # the last try


def test_a_batch_whose_task_fails_reports_each_of_its_records(
    prefect_harness, tmp_path, excerpt_dir, monkeypatch, capsys
):
    """A task that cannot run at all (here: the model does not load) fails the records it
    was given, each named on its own line, and the flow names them all."""
    import flows.diagnose_batch as batch_flow
    from arrhythmia.inference.diagnoser import DiagnosisOptions, RecordsFailed

    def no_model(options, identity):
        raise RuntimeError("no model here")

    monkeypatch.setattr(batch_flow, "_loaded", no_model)
    records = [str(excerpt_dir / r) for r in EXCERPT_RECORDS[:2]]
    assert len(batch_flow.record_batches(records)) == 1  # one task for both

    with pytest.raises(RecordsFailed, match=f"2 of 2 records failed: {EXCERPT_RECORDS[0]}, "):
        batch_flow.diagnose_batch_flow(records, str(tmp_path / "out"), DiagnosisOptions())

    err = capsys.readouterr().err
    for record in EXCERPT_RECORDS[:2]:
        assert err.count(f"diagnose_batch: error: {record}: RuntimeError: no model here") == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
