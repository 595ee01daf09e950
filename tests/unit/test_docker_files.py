"""No Docker engine here: check that the docker files name files and commands that exist."""

import re
import shlex
from pathlib import Path

import yaml

from arrhythmia.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


def _instructions(name):
    lines = (DOCKER / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    return [line.split(None, 1)[1] for line in lines if line.startswith(name + " ")]


def test_dockerfile_copies_files_that_exist():
    copied = []
    for args in _instructions("COPY"):
        copied += shlex.split(args)[:-1]
    assert copied, "the Dockerfile copies nothing"
    for source in copied:
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"


def test_dockerfile_installs_cpu_torch_before_the_package():
    runs = _instructions("RUN")
    torch_step = next(i for i, r in enumerate(runs) if "torch==2.13.0" in r)
    package_step = next(i for i, r in enumerate(runs) if re.search(r"pip install -e '\.\[", r))
    assert torch_step < package_step
    assert "download.pytorch.org/whl/cpu" in runs[torch_step]


def test_compose_services_run_commands_that_exist():
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert {"pipeline", "mlflow", "serve", "prefect", "scheduler"} <= set(services)
    subcommands = set(build_parser()._subparsers._group_actions[0].choices)
    for name, service in services.items():
        program, *args = service["entrypoint"]
        assert program in {"arrhythmia", "dvc", "mlflow", "prefect", "python"}, name
        if program == "arrhythmia":
            assert args[0] in subcommands, f"{name}: no subcommand {args[0]}"
        if program == "python":  # a stage or the scheduler: a flow module run from the root
            assert args[0] == "-m" and args[1].startswith("flows."), name
            assert (ROOT / (args[1].replace(".", "/") + ".py")).is_file(), f"{name}: {args[1]}"
        build = service["build"]
        assert (DOCKER / build["context"] / build["dockerfile"]).is_file()
    assert "models:/arrhythmia-cnn@champion" in services["serve"]["entrypoint"]
