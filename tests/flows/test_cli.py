import subprocess
import sys
from pathlib import Path

import pytest

from arrhythmia.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]

COMMANDS = ["predict", "report"]
STAGES = ["ingest", "validate_raw", "preprocess", "validate_dataset", "train", "evaluate",
          "register", "pipeline"]  # fmt: skip


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_explains_itself(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert len(capsys.readouterr().out.splitlines()) >= 4


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from arrhythmia.cli import build_parser; build_parser();"
        "heavy = ('torch', 'prefect', 'mlflow', 'great_expectations', 'flows');"
        "heavy = [m for m in heavy if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_command_is_a_usage_error():
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["fly"])
    assert exit_info.value.code == 2


def test_report_without_metrics_is_a_clear_error(project_dir, capsys):
    assert main(["report"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("arrhythmia report: error: metrics/ds2.json: no metrics here")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_module_explains_itself(stage):
    done = subprocess.run(
        [sys.executable, "-m", f"flows.{stage}", "--help"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"python -m flows.{stage}" in done.stdout and "--params" in done.stdout


def test_bad_params_file_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("data: {}\n")
    assert main(["predict", str(tmp_path / "100"), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "params: missing key(s) paths, preprocess" in err
