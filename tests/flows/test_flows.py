"""Flows run for real under a temporary Prefect server, on the committed excerpts."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from arrhythmia.data.fetch import FetchError
from arrhythmia.validation.gx_runner import ValidationFailed
from tests.conftest import (
    CINC2017_EXCERPT_DIR,
    CUDB_EXCERPT_DIR,
    EXCERPT_DIR,
    SVDB_EXCERPT_DIR,
    VFDB_EXCERPT_DIR,
)


def test_ingest_from_an_incomplete_mirror_fails_and_leaves_raw_untouched(
    prefect_harness, project_dir, excerpt_copy, monkeypatch
):
    from flows.ingest import ingest_flow

    raw = project_dir / "data" / "raw" / "mitdb"
    raw.mkdir(parents=True)
    (raw / "keep.txt").write_text("earlier content")
    monkeypatch.setenv("ARRHYTHMIA_MITDB_MIRROR", str(excerpt_copy))

    with pytest.raises(FetchError) as failure:
        ingest_flow()

    assert "not found in mirror" in str(failure.value) or "checksum" in str(failure.value)
    assert sorted(p.name for p in raw.iterdir()) == ["keep.txt"]
    assert (raw / "keep.txt").read_text() == "earlier content"
    assert not (project_dir / "data" / ".staging-mitdb").exists()


def _smoke_project(project_dir: Path, raw_params: dict, **subset) -> Path:
    """The project's params.yaml set to a smoke run of the committed excerpts (data.subset),
    with the excerpts copied where ingest would put them; the MITDB folder."""
    import yaml

    raw_params["data"]["subset"] = subset
    (project_dir / "params.yaml").write_text(yaml.safe_dump(raw_params, sort_keys=False))
    raw = project_dir / "data" / "raw"
    excerpts = {"mitdb": EXCERPT_DIR, "svdb": SVDB_EXCERPT_DIR, "cinc2017": CINC2017_EXCERPT_DIR,
                "vfdb": VFDB_EXCERPT_DIR, "cudb": CUDB_EXCERPT_DIR}  # fmt: skip
    for database, excerpt in excerpts.items():
        shutil.copytree(excerpt, raw / database, ignore=shutil.ignore_patterns("*.md"))
    return raw / "mitdb"


SMOKE = {"ds1": ["119"], "ds2": ["100"], "svdb": ["822"], "cinc2017": ["A00006", "A00009"],
         "vfdb": ["611"], "cudb": ["cu01"]}  # fmt: skip


def test_raw_validation_flow_stops_on_a_wrong_sampling_rate(
    prefect_harness, project_dir, raw_params
):
    from flows.validate_raw import validate_raw_flow

    raw = _smoke_project(project_dir, raw_params, **SMOKE)
    header = raw / "100.hea"
    header.write_text(header.read_text().replace("100 2 360 10800", "100 2 250 10800", 1))

    with pytest.raises(ValidationFailed) as failure:
        validate_raw_flow()
    message = str(failure.value)
    assert "FAILED" in message and "fs" in message and "record 100" in message
    # the smoke run's records, and only they, were read (the excerpts are also too short)
    tables = ("records (2 rows)", "svdb_records (1 row)", "vfdb_records (1 row)",
              "cudb_records (1 row)", "cinc2017_strips (2 rows)")  # fmt: skip
    for table in tables:
        assert table in message
    assert (project_dir / "reports" / "validation" / "raw" / "index.html").is_file()
    assert not (project_dir / "data" / "validated" / "raw.json").exists()


def test_a_smoke_subset_naming_a_record_outside_its_list_stops_in_one_line(
    prefect_harness, project_dir, raw_params
):
    from arrhythmia.data.records import RecordSelectionError
    from flows.validate_raw import validate_raw_flow

    _smoke_project(project_dir, raw_params, **{**SMOKE, "ds2": ["119"]})
    with pytest.raises(RecordSelectionError, match="119 not in DS2"):
        validate_raw_flow()


@pytest.mark.slow
def test_cli_exits_non_zero_with_one_clear_line_on_a_missing_mirror(project_dir):
    root = Path(__file__).resolve().parents[2]  # flows/ is run from the project, not installed
    env = {**os.environ, "ARRHYTHMIA_MITDB_MIRROR": str(project_dir / "nowhere"),
           "PYTHONPATH": str(root)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "flows.ingest"],
        capture_output=True, text=True, env=env, cwd=project_dir, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    assert "python -m flows.ingest: error:" in done.stderr and "nowhere" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (project_dir / "data" / "raw").exists()


@pytest.mark.parametrize("stage", ["evaluate", "register"])
def test_a_run_that_is_not_in_the_tracking_store_stops_a_stage_in_one_line(
    prefect_harness, project_dir, stage, capsys
):
    """A fresh clone after `dvc pull`: models/mlflow_run.json names a run made elsewhere."""
    import importlib
    import json

    run_record = project_dir / "models" / "mlflow_run.json"
    run_record.parent.mkdir()
    run_record.write_text(json.dumps({"run_id": "0f" * 16, "experiment_id": "1"}))
    main = importlib.import_module(f"flows.{stage}").main

    assert main([]) == 1  # a fresh clone: no tracking store at all
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"python -m flows.{stage}: error: models/mlflow_run.json names")
    assert "there is no tracking store" in last and "Traceback" not in err
    assert not (project_dir / "mlflow.db").exists()  # no empty store left behind

    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    SqlAlchemyStore(f"sqlite:///{project_dir / 'mlflow.db'}", str(project_dir)).engine.dispose()
    assert main([]) == 1  # a store, but not the one that holds the run
    err = capsys.readouterr().err
    assert "which is not in the tracking store" in err.strip().splitlines()[-1]
    assert "Traceback" not in err
    assert not (project_dir / "metrics").exists()  # nothing written


def test_a_gate_on_ds2_stops_register_before_anything_happens(prefect_harness, project_dir, capsys):
    import yaml

    from flows.register import main

    params = yaml.safe_load((project_dir / "params.yaml").read_text())
    params["register"]["gate_metric"] = "ds2_veb_se"
    (project_dir / "params.yaml").write_text(yaml.safe_dump(params))
    assert main([]) == 1
    assert "is a DS2 (test set) figure" in capsys.readouterr().err
    assert not (project_dir / "mlflow.db").exists()


def test_the_scheduled_pipeline_runs_dvc_repro_on_the_stages_asked_for():
    from flows.pipeline import PipelineFailed, repro_command

    assert repro_command(None) == repro_command([]) == ["dvc", "repro"]  # the whole pipeline
    assert repro_command(["validate_dataset"]) == ["dvc", "repro", "validate_dataset"]
    for bad in (["--force"], ["-f", "train"], [""], ["train", " "]):  # a parameter, not argv
        with pytest.raises(PipelineFailed, match="not a stage name"):
            repro_command(bad)


def test_the_pipeline_log_keeps_what_dvc_ran_and_the_last_state_of_each_progress_bar():
    from flows.pipeline import stages_run, terminal_text

    output = (
        "Stage 'ingest' didn't change, skipping\n"
        "Running stage 'preprocess':\n> python -m flows.preprocess\n"
        "\rpreprocess:   0%| 0/44\rpreprocess:  50%| 22/44\rpreprocess: 100%| 44/44\r\n"
        "Running stage 'validate_dataset':\r\n> python -m flows.validate_dataset\n"
    )
    text = terminal_text(output)
    assert text.splitlines() == [
        "Stage 'ingest' didn't change, skipping",
        "Running stage 'preprocess':",
        "> python -m flows.preprocess",
        "preprocess: 100%| 44/44",
        "Running stage 'validate_dataset':",
        "> python -m flows.validate_dataset",
    ]
    assert stages_run(text) == ["preprocess", "validate_dataset"]
    assert stages_run("Stage 'train' didn't change, skipping\n") == []


def test_serving_the_schedule_without_a_prefect_server_is_one_clear_line(
    project_dir, monkeypatch, capsys
):
    """A temporary server runs no scheduler and goes with the process: the cron would
    never fire, so the command refuses instead of serving."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.pipeline import main, schedule_server

    assert schedule_server("http://127.0.0.1:4200/api") == "http://127.0.0.1:4200/api"
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert main([]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("python -m flows.pipeline: error: a schedule needs a running Prefect")
    assert "PREFECT_API_URL" in err and "Traceback" not in err


def test_train_refuses_a_smoke_subset_without_the_input_example_before_any_work(
    prefect_harness, project_dir, raw_params
):
    from arrhythmia.config import ConfigError
    from flows.train import train_flow

    _smoke_project(project_dir, raw_params, **SMOKE)  # DS1 of 119 alone: no record 101
    with pytest.raises(ConfigError, match="must keep 101"):
        train_flow()
    assert not (project_dir / "models").exists() and not (project_dir / "mlruns").exists()


def test_a_stage_waits_for_a_first_temporary_server_longer_than_prefects_default():
    # A fresh machine's first stage migrates a new Prefect database: over Prefect's 20 s on
    # 2 cores, which failed `make run` there. Stages run from the project root, where
    # pyproject.toml's [tool.prefect] must reach Prefect's own settings.
    env = {k: v for k, v in os.environ.items() if "EPHEMERAL_STARTUP" not in k}
    read = (
        "from prefect.settings import get_current_settings; "
        "print(get_current_settings().server.ephemeral.startup_timeout_seconds)"
    )
    root = Path(__file__).resolve().parents[2]
    shown = subprocess.run(
        [sys.executable, "-c", read], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert int(shown.stdout.strip()) >= 120
