import subprocess
import sys
from pathlib import Path

import pytest

from arrhythmia.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]

COMMANDS = ["predict", "report", "results"]
STAGES = ["ingest", "validate_raw", "preprocess", "validate_dataset", "train_detector", "train",
          "evaluate", "register", "pipeline"]  # fmt: skip


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


def test_results_without_metrics_is_a_clear_error(project_dir, capsys):
    assert main(["results"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("arrhythmia results: error: metrics/ds2.json: no metrics here")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_module_explains_itself(stage):
    done = subprocess.run(
        [sys.executable, "-m", f"flows.{stage}", "--help"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"python -m flows.{stage}" in done.stdout and "--params" in done.stdout


def test_bad_params_file_is_a_clear_error(tmp_path, excerpt_dir, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("data: {}\n")
    assert main(["predict", str(excerpt_dir / "100"), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "params: missing key(s) paths, preprocess" in err


def _one_error_line(capsys, prefix: str = "arrhythmia predict: error: ") -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(prefix), err
    return err


def test_predict_on_a_missing_record_is_one_line(tmp_path, model_args, capsys):
    args = ["predict", str(tmp_path / "nowhere" / "100"), "--out", str(tmp_path / "out")]
    assert main([*args, *model_args]) == 1
    assert "no such WFDB header" in _one_error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_predict_on_an_unreadable_record_is_one_line(tmp_path, model_args, capsys):
    (tmp_path / "rec.hea").write_text("this is not a WFDB header\n")
    (tmp_path / "rec.dat").write_bytes(b"\x00\x01")
    args = ["predict", str(tmp_path / "rec"), "--out", str(tmp_path / "out")]
    assert main([*args, *model_args]) == 1
    assert "cannot read the record" in _one_error_line(capsys)


def test_predict_with_a_missing_or_unsafe_model_file_is_one_line(
    tmp_path, excerpt_dir, bundle, capsys
):
    import torch

    args = ["predict", str(excerpt_dir / "100"), "--out", str(tmp_path / "out")]
    assert main([*args, "--model", str(tmp_path / "none.pt")]) == 1
    assert "no trained model here" in _one_error_line(capsys)

    payload = torch.load(bundle, weights_only=True)
    payload["preprocess"] = Path("a pickled object")  # anything that is not plain data
    torch.save(payload, bundle)
    assert main([*args, "--model", str(bundle)]) == 1
    assert "refused" in _one_error_line(capsys)


def test_predict_from_a_registry_without_the_model_is_one_line(
    tmp_path, excerpt_dir, monkeypatch, capsys
):
    """A fresh clone: no mlflow.db, so no champion to load."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    args = ["predict", str(excerpt_dir / "100"), "--out", str(tmp_path / "out")]
    assert main([*args, "--model", "models:/arrhythmia-cnn@champion"]) == 1
    err = _one_error_line(capsys)
    assert "models:/arrhythmia-cnn@champion: there is no MLflow tracking store at" in err
    assert not (tmp_path / "mlflow.db").exists()  # no empty store left behind


def test_predict_from_a_store_without_that_model_is_one_line(
    tmp_path, excerpt_dir, monkeypatch, capsys
):
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    SqlAlchemyStore(f"sqlite:///{tmp_path / 'mlflow.db'}", str(tmp_path)).engine.dispose()
    capsys.readouterr()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    args = ["predict", str(excerpt_dir / "100"), "--out", str(tmp_path / "out")]
    assert main([*args, "--model", "models:/arrhythmia-cnn@champion"]) == 1
    err = _one_error_line(capsys)
    assert "cannot load it from the tracking store" in err and "not found" in err


def test_predict_into_an_output_that_cannot_be_a_folder_is_one_line(
    tmp_path, excerpt_dir, model_args, capsys
):
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should go")
    args = ["predict", str(excerpt_dir / "100"), "--out", str(blocker), *model_args]
    assert main(args) == 1
    _one_error_line(capsys)
    assert blocker.read_text() == "a file where the output folder should go"
