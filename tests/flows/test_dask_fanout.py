"""Per-record fan-out on Dask: the same bytes as one record at a time, on the excerpts."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import EXCERPT_RECORDS


@pytest.fixture
def raw_excerpts(project_dir, excerpt_dir):
    """The excerpts as the project's raw records."""
    raw = project_dir / "data" / "raw" / "mitdb"
    shutil.copytree(excerpt_dir, raw, ignore=shutil.ignore_patterns("*.md"))
    return raw


@pytest.mark.slow
def test_preprocess_on_two_local_workers_writes_the_sequential_dataset(
    prefect_harness, project_dir, raw_excerpts, params, tmp_path_factory
):
    from arrhythmia.atomic import write_json
    from arrhythmia.data.beat_dataset import build_beat_dataset, class_counts, save_dataset
    from flows.preprocess import run_preprocess

    expected = tmp_path_factory.mktemp("sequential")
    arrays = build_beat_dataset(raw_excerpts, EXCERPT_RECORDS, params.preprocess)
    save_dataset(expected / "beats.npz", arrays)
    write_json(expected / "class_counts.json", class_counts(arrays))

    counts = run_preprocess(workers=2, records=list(EXCERPT_RECORDS))

    assert counts == class_counts(arrays)
    written = project_dir / params.paths.dataset
    assert written.read_bytes() == (expected / "beats.npz").read_bytes()
    counts_file = project_dir / params.paths.class_counts
    assert counts_file.read_bytes() == (expected / "class_counts.json").read_bytes()


def test_a_record_that_cannot_be_read_fails_the_stage_and_names_it(
    prefect_harness, project_dir, raw_excerpts
):
    from flows.preprocess import PreprocessFailed, preprocess_flow

    (raw_excerpts / "119.dat").unlink()

    with pytest.raises(PreprocessFailed, match="record 119: "):
        preprocess_flow(records=list(EXCERPT_RECORDS))
    assert not (project_dir / "data" / "processed").exists()


def test_joining_records_refuses_two_sampling_rates():
    import numpy as np

    from flows.preprocess import join_record_datasets

    def part(record: str, fs: float) -> dict:
        return {"label": np.zeros(3, np.int8), "record": np.full(3, record), "fs": np.array(fs)}

    joined = join_record_datasets([part("100", 360.0), part("119", 360.0)])
    assert joined["record"].tolist() == ["100"] * 3 + ["119"] * 3 and joined["fs"] == 360.0
    with pytest.raises(ValueError, match="differ in fs"):
        join_record_datasets([part("100", 360.0), part("119", 250.0)])


def test_preprocess_one_record_at_a_time_by_default_writes_the_same_dataset(
    prefect_harness, project_dir, raw_excerpts, params, tmp_path_factory
):
    from arrhythmia.data.beat_dataset import build_beat_dataset, save_dataset
    from flows.preprocess import preprocess_flow

    expected = tmp_path_factory.mktemp("sequential") / "beats.npz"
    save_dataset(expected, build_beat_dataset(raw_excerpts, EXCERPT_RECORDS, params.preprocess))

    preprocess_flow(records=list(EXCERPT_RECORDS))

    assert (project_dir / params.paths.dataset).read_bytes() == expected.read_bytes()


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.slow
def test_batch_diagnosis_on_a_two_worker_cluster_writes_what_predict_writes(
    prefect_harness, tmp_path, excerpt_dir, model_args, bundle, detector_file, monkeypatch
):
    """Sequential `arrhythmia predict` against the flow on a 2-worker LocalCluster reached
    by its address (the --dask-address path; the preprocess test covers --workers), in
    batches of one and two records spread over both workers."""
    from distributed import LocalCluster

    import flows.diagnose_batch as batch_flow
    from arrhythmia.cli import main as arrhythmia
    from arrhythmia.inference.diagnoser import DiagnosisOptions
    from flows.diagnose_batch import record_batches, record_bytes, run_diagnose_batch

    records = [str(excerpt_dir / r) for r in EXCERPT_RECORDS]
    monkeypatch.setattr(batch_flow, "BATCH_BYTES", record_bytes(records[0]) + 1)
    batches = [len(b) for b in record_batches(records)]
    assert len(batches) >= 2 and max(batches) == 2  # several batches, one of two records
    sequential, fanned_out = tmp_path / "sequential", tmp_path / "fanned_out"
    assert arrhythmia(["predict", *records, "--out", str(sequential), *model_args]) == 0
    options = DiagnosisOptions(model=str(bundle), detector=str(detector_file))
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        done = run_diagnose_batch(
            [str(excerpt_dir)], str(fanned_out), options,
            dask_address=cluster.scheduler_address,
        )  # fmt: skip

    assert list(done) == list(EXCERPT_RECORDS)
    expected = _files(sequential)
    assert sorted(expected) == sorted(f"{r}.{x}" for r in EXCERPT_RECORDS for x in ("cnn", "json"))
    assert _files(fanned_out) == expected


def test_a_record_that_fails_is_reported_and_the_others_finish(
    prefect_harness, tmp_path, excerpt_dir, model_args, capsys
):
    """One record at a time (the default), from the command line."""
    from arrhythmia.cli import main as arrhythmia
    from flows.diagnose_batch import main

    good = str(excerpt_dir / "100")
    assert arrhythmia(["predict", good, "--out", str(tmp_path / "predict"), *model_args]) == 0
    capsys.readouterr()

    missing = str(tmp_path / "nowhere")
    assert main([good, missing, "--out", str(tmp_path / "out"), *model_args]) == 1

    assert _files(tmp_path / "out") == _files(tmp_path / "predict")
    captured = capsys.readouterr()
    assert "predict: 100:" in captured.out
    assert "python -m flows.diagnose_batch: error: nowhere: " in captured.err
    assert captured.err.rstrip().endswith(
        "python -m flows.diagnose_batch: error: 1 of 2 records failed: nowhere"
    )
    assert "Traceback" not in captured.err


def test_a_cluster_elsewhere_without_a_prefect_server_is_refused_before_anything_runs():
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.task_runner import NoPrefectServerForWorkers, prefect_api_for_workers

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        with pytest.raises(NoPrefectServerForWorkers, match="PREFECT_API_URL"):
            with prefect_api_for_workers("tcp://10.0.0.7:8786"):
                pytest.fail("ran without a server the workers can reach")


def test_a_folder_stands_for_its_records_and_one_name_twice_is_refused(tmp_path, excerpt_dir):
    from arrhythmia.inference.diagnoser import RecordsFailed
    from flows.diagnose_batch import records_in

    (tmp_path / "a.csv").write_text("1\n")
    assert records_in([excerpt_dir, tmp_path / "x.edf"]) == [
        *(str(excerpt_dir / r) for r in EXCERPT_RECORDS),
        str(tmp_path / "x.edf"),
    ]
    with pytest.raises(RecordsFailed, match="same output files"):
        records_in([tmp_path, tmp_path / "a.edf"])


def test_only_io_hiccups_are_retried():
    from prefect.states import Failed

    from arrhythmia.data.readers import RecordError
    from flows.task_runner import transient_failure

    def retried(error: BaseException) -> bool:
        return transient_failure(None, None, Failed(data=error))

    assert retried(ConnectionResetError()) and retried(TimeoutError())
    assert retried(OSError(5, "Input/output error"))
    assert not retried(FileNotFoundError()) and not retried(RecordError("bad header"))
    assert not retried(ValueError())


def test_the_metadata_keys_are_what_the_dataset_adds_to_the_per_beat_columns(excerpt_dir, params):
    """Named, not guessed from lengths: a record with as many beats as there are RR
    features (or classes) must not have its metadata concatenated."""
    from arrhythmia.data.beat_dataset import build_beat_dataset, record_dataset
    from flows.preprocess import METADATA_KEYS, join_record_datasets

    whole = build_beat_dataset(excerpt_dir, ["100"], params.preprocess, progress=False)
    per_beat = set(record_dataset(excerpt_dir, "100", params.preprocess)) - {"fs"}
    assert set(METADATA_KEYS) == set(whole) - per_beat
    short = {k: (v[:20] if k not in METADATA_KEYS else v) for k, v in whole.items()}
    joined = join_record_datasets([short, short])
    assert len(joined["rr_names"]) == len(whole["rr_names"]) and len(joined["label"]) == 40


@pytest.mark.parametrize(
    ("address", "host"),
    [("tcp://10.0.0.7:8786", "10.0.0.7"), ("10.0.0.7:8786", "10.0.0.7"),
     ("127.0.0.1:8786", "127.0.0.1"), ("tcp://localhost:8786", "localhost"), (None, "localhost")],
)  # fmt: skip
def test_the_scheduler_host_is_read_with_or_without_a_scheme(address, host):
    from flows.task_runner import scheduler_host

    assert scheduler_host(address) == host


def test_workers_load_a_model_afresh_when_it_was_retrained_in_place(bundle, detector_file):
    """A worker caches the loaded model by its options; a model file rewritten at the same
    path (the weekly retrain) must not keep being used from the cache."""
    import os

    from arrhythmia.inference.diagnoser import DiagnosisOptions
    from flows.diagnose_batch import _loaded, identity_now

    options = DiagnosisOptions(model=str(bundle), detector=str(detector_file))
    before = identity_now(options)
    assert identity_now(options) == before  # unchanged files: the cached model serves
    assert _loaded(options, before) is _loaded(options, identity_now(options))
    status = bundle.stat()
    os.utime(bundle, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))  # rewritten
    after = identity_now(options)
    assert after != before and _loaded(options, after) is not _loaded(options, before)


def test_the_identity_names_params_yamls_model_and_detector_when_none_is_given(params):
    from arrhythmia.inference.diagnoser import DiagnosisOptions
    from flows.diagnose_batch import identity_now

    named = [part[0] for part in identity_now(DiagnosisOptions())]
    assert named == [params.paths.model, params.paths.qrs_detector]
    at_reference = identity_now(DiagnosisOptions(beats_from="atr"))
    assert [part[0] for part in at_reference] == [params.paths.model]


def test_the_identity_follows_a_registry_alias_to_its_version(monkeypatch):
    import mlflow

    from arrhythmia.inference.diagnoser import DiagnosisOptions
    from flows.diagnose_batch import identity_now

    moved_to = {"champion": "3"}

    class Registry:  # what MlflowClient answers: the version an alias names now
        def __init__(self, tracking_uri=None):
            pass

        def get_model_version_by_alias(self, name, alias):
            assert name == "arrhythmia-cnn"
            return type("Version", (), {"version": moved_to[alias]})()

    monkeypatch.setattr(mlflow, "MlflowClient", Registry)
    options = DiagnosisOptions(model="models:/arrhythmia-cnn@champion")
    before = identity_now(options)
    assert before == (("models:/arrhythmia-cnn@champion", "3"),)  # its own detector
    moved_to["champion"] = "4"
    assert identity_now(options) != before
    pinned = identity_now(DiagnosisOptions(model="models:/arrhythmia-cnn/3"))
    assert pinned == (("models:/arrhythmia-cnn/3", None),)  # a version cannot move
