import subprocess
import sys

import pytest

from arrhythmia.cli import build_parser, main

COMMANDS = [
    "ingest",
    "validate",
    "preprocess",
    "train",
    "evaluate",
    "register",
    "predict",
    "report",
    "schedule",
]


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
        "heavy = ('torch', 'prefect', 'mlflow', 'great_expectations');"
        "heavy = [m for m in heavy if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_command_is_a_usage_error():
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["fly"])
    assert exit_info.value.code == 2


def test_report_without_metrics_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["report"]) == 1
    assert "ds2.json" in capsys.readouterr().err


def test_bad_params_file_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("data: {}\n")
    assert main(["predict", str(tmp_path / "100"), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "params: missing key(s) preprocess" in err
