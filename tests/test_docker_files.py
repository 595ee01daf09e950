"""No Docker engine here: check that the docker files name files and commands that exist."""

import re
import shlex
from pathlib import Path

import yaml

from arrhythmia.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
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


def _compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_compose_services_run_commands_that_exist():
    services = _compose()["services"]
    assert {"postgres", "mlflow", "prefect", "dask-scheduler", "dask-worker", "pipeline",
            "scheduler", "diagnose", "serve"} <= set(services)  # fmt: skip
    subcommands = set(build_parser()._subparsers._group_actions[0].choices)
    for name, service in services.items():
        if "image" in service and "build" not in service:
            continue  # a stock image (PostgreSQL)
        program, *args = service["entrypoint"]
        assert program in {"arrhythmia", "dvc", "mlflow", "prefect", "python", "dask"}, name
        if program == "arrhythmia":
            assert args[0] in subcommands, f"{name}: no subcommand {args[0]}"
        if program == "python":  # a stage, the scheduler or the batch diagnosis: a flow module
            assert args[0] == "-m" and args[1].startswith("flows."), name
            assert (ROOT / (args[1].replace(".", "/") + ".py")).is_file(), f"{name}: {args[1]}"
        build = service["build"]
        assert (DOCKER / build["context"] / build["dockerfile"]).is_file()
    assert "models:/arrhythmia-cnn@champion" in services["serve"]["entrypoint"]


def test_the_batch_diagnosis_service_parses_with_the_flows_own_options():
    from flows.diagnose_batch import build_parser as batch_parser

    _, _, *args = _compose()["services"]["diagnose"]["entrypoint"]
    parsed = batch_parser().parse_args(args)
    assert parsed.dask_address == "tcp://dask-scheduler:8786"


def test_services_find_each_other_where_they_listen():
    """Every URL a service is given points at a service of this file, on the port that
    service listens on; the MLflow backend is the PostgreSQL service's database."""
    compose = _compose()
    services = compose["services"]
    listens = {}
    for name, service in services.items():
        words = service.get("entrypoint") or []
        if "--port" in words:
            listens[name] = words[words.index("--port") + 1]
    listens["postgres"] = "5432"
    env = compose["x-project"]["environment"]
    urls = [env["MLFLOW_TRACKING_URI"], env["PREFECT_API_URL"]]
    for service in services.values():
        urls += [w for w in service.get("entrypoint") or [] if "://" in w and "@" not in w[:6]]
    for url in urls:
        match = re.match(r"(?:\w+)://(?:[^@/]+@)?([\w-]+):(\d+)", url)
        if match is None or match.group(1) == "0.0.0.0":
            continue
        host, port = match.groups()
        assert host in services, f"{url}: no service {host}"
        if host != "serve":
            assert listens.get(host) == port, f"{url}: {host} listens on {listens.get(host)}"
    allowed = services["mlflow"]["entrypoint"]
    allowed = allowed[allowed.index("--allowed-hosts") + 1].split(",")
    assert "mlflow:5000" in allowed, "MLflow 3 would refuse the other services' Host header"
    backend = services["mlflow"]["entrypoint"]
    uri = backend[backend.index("--backend-store-uri") + 1]
    pg = services["postgres"]["environment"]
    # no password in the file: compose refuses to start without POSTGRES_PASSWORD
    assert pg["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert uri == (f"postgresql+psycopg2://{pg['POSTGRES_USER']}:${{POSTGRES_PASSWORD}}@postgres:5432/"
                   f"{pg['POSTGRES_DB']}")  # fmt: skip
    named = {v.split(":")[0] for s in services.values() for v in s.get("volumes", [])
             if not v.startswith(("..", "${", "/"))}  # fmt: skip
    assert named <= set(compose["volumes"])


def test_the_readme_names_every_port_and_variable_and_says_images_are_not_built():
    compose = _compose()
    readme = (ROOT / "README.md").read_text()
    for service in compose["services"].values():
        for mapping in service.get("ports", []):
            host_port = mapping.split(":")[0]
            assert f":{host_port}" in readme, f"port {host_port} is not in the README"
    for variable in compose["x-project"]["environment"]:
        assert variable in readme, f"{variable} is not in the README"
    assert "not built in CI" in readme
    assert "POSTGRES_PASSWORD" in readme


def test_the_model_server_runs_two_single_threaded_workers_against_the_shared_store():
    """Two workers with one torch thread each on a 2-core host (benchmarks/serve_latency.py);
    its own environment must extend the project's, not replace it (the tracking server)."""
    serve = _compose()["services"]["serve"]
    words = serve["entrypoint"]
    assert words[words.index("--workers") + 1] == "2"
    assert serve["environment"]["OMP_NUM_THREADS"] == "1"
    assert serve["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
