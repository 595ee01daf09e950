"""The scheduled pipeline on a real Prefect server, driven by docs/operations.md's commands:
`prefect server start` on loopback, `python -m flows.pipeline` serving the deployment in a
fresh clone (params composed from the real params.yaml), `prefect deployment run` for one run.

The run is limited to the data half of the pipeline (`dvc repro validate_dataset`: ingest,
raw validation, preprocessing, dataset validation on a smoke run's few records of each
database): the same deployment, flow and `dvc repro` as the weekly run, four stage flows run
by DVC as subprocesses, in a minute or two instead of the whole retraining."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
import yaml

from tests.conftest import mirror_environment
from tests.helpers import smoke_params
from tools.serving import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TARGET = "validate_dataset"
# the stage flows `dvc repro validate_dataset` runs on a fresh clone, by their flow names
DATA_STAGE_FLOWS = ("ingest", "validate-raw", "preprocess", "validate-dataset")
# Generous deadlines for a machine shared with other jobs: the serving process starts (imports,
# registration, first poll) in seconds when idle; its stop is a pause confirmed by the server
# (flows.pipeline.PAUSE_TIMEOUT_S at most) and Prefect's teardown.
STARTUP_TIMEOUT_S = 240
STOP_TIMEOUT_S = 300


def wait_for(check: Callable[[], object], timeout_s: float, what: str, log: Path | None = None):
    """Poll `check` until it returns something truthy; fail with the log's tail if not."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            found = check()
        except Exception:  # the server is not up yet, the deployment not there yet
            found = None
        if found:
            return found
        time.sleep(1)
    tail = log.read_text(errors="replace")[-4_000:] if log and log.exists() else ""
    pytest.fail(f"no {what} after {timeout_s:.0f} s\n{tail}")


@contextmanager
def background(
    args: list[str], *, cwd: Path, env: dict, log: Path, stop_timeout_s: float = 30
) -> Iterator[subprocess.Popen]:
    """A long-running command in its own process group, stopped (with its children) on exit
    if it is still running: Ctrl-C, then `stop_timeout_s` to end by itself before it is
    killed."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)  # its own session: group id = pid
                try:
                    process.wait(timeout=stop_timeout_s)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def prefect_env(home: Path, **extra: str) -> dict:
    """This environment without any Prefect settings of its own, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory) -> Iterator[dict]:
    """`prefect server start` on loopback, with its own sqlite database; yields its API URL
    and the database's path."""
    import httpx

    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    database = home / "prefect.db"
    env = prefect_env(
        home,
        PREFECT_SERVER_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{database}",
        # the scheduler looks for new schedules every few seconds instead of every minute
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
    )
    log = home / "server.log"
    command = ["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with background(command, cwd=home, env=env, log=log):
        wait_for(lambda: httpx.get(f"{api}/health").status_code == 200, 180, "Prefect server", log)
        yield {"api": api, "database": database}


@pytest.fixture(scope="module")
def server(prefect_server) -> str:
    """The Prefect server's API URL."""
    return prefect_server["api"]


@pytest.fixture(scope="module")
def project(tmp_path_factory, full_mirrors) -> Path:
    """A fresh clone whose params.yaml is the real one shrunk to a smoke run."""

    root = tmp_path_factory.mktemp("scheduled") / "project"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(root)], check=True)
    # The committed pipeline, with the scheduled flow of this working tree (the stages and
    # dvc.yaml as committed: work in progress elsewhere in the tree stays out of this test).
    shutil.copy2(ROOT / "flows" / "pipeline.py", root / "flows" / "pipeline.py")
    params = smoke_params(full_mirrors, folds=2, seeds=1, max_epochs=1)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root


@pytest.fixture(scope="module")
def served(server, project, full_mirrors, tmp_path_factory) -> Iterator[dict]:
    """`python -m flows.pipeline` serving the deployment; yields the deployment as the
    server has it."""
    home = tmp_path_factory.mktemp("prefect-client")
    env = prefect_env(
        home,
        PREFECT_API_URL=server,
        PREFECT_RUNNER_POLL_FREQUENCY="2",  # picks a triggered run up within seconds
        **mirror_environment(full_mirrors),
        MLFLOW_TRACKING_URI=f"sqlite:///{project / 'mlflow.db'}",
    )
    log = home / "serve.log"
    name = _deployment_name(project)
    with background([sys.executable, "-m", "flows.pipeline"], cwd=project, env=env, log=log):
        with _client(server) as client:
            deployment = wait_for(
                lambda: client.read_deployment_by_name(name),
                STARTUP_TIMEOUT_S,
                f"deployment {name}",
                log,
            )
        yield {"deployment": deployment, "env": env, "log": log}


def _deployment_name(project: Path) -> str:
    schedule = yaml.safe_load((project / "params.yaml").read_text())["schedule"]
    return f"pipeline/{schedule['deployment_name']}"


@contextmanager
def _client(api: str):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api}), get_client(sync_client=True) as c:
        yield c


@pytest.fixture(scope="module")
def triggered(server, served, project) -> dict:
    """One run now through the server, as docs/operations.md says: `prefect deployment run`."""
    name = _deployment_name(project)
    started, started_at = time.monotonic(), time.time()
    done = subprocess.run(
        ["prefect", "deployment", "run", name, "--param", f'targets=["{TARGET}"]',
         "--watch", "--watch-timeout", "480"],
        env=served["env"], cwd=project, capture_output=True, text=True, timeout=540,
    )  # fmt: skip
    seconds = time.monotonic() - started
    serve_log = served["log"].read_text(errors="replace")[-6_000:]
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n--- serve:\n{serve_log}"
    run_id = re.search(r"UUID: ([0-9a-f-]{36})", done.stdout).group(1)
    return {"run_id": run_id, "output": done.stdout, "seconds": seconds, "started_at": started_at}


def test_the_deployment_is_on_the_server_with_the_cron_of_params_yaml(served, server, project):
    from cronsim import CronSim  # Prefect's own cron reader

    params = yaml.safe_load((ROOT / "params.yaml").read_text())["schedule"]
    deployment = served["deployment"]
    assert deployment.name == params["deployment_name"]
    [schedule] = deployment.schedules
    assert schedule.active and schedule.schedule.cron == params["cron"]
    assert not deployment.paused
    # by default a run is the whole pipeline, in the project the schedule was served from
    assert deployment.parameters == {"project_dir": str(project)}

    # and the server's scheduler has put the next run on the calendar, at the cron's time
    from zoneinfo import ZoneInfo

    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    def next_scheduled():
        with _client(server) as client:
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
            )
        return [r for r in runs if r.state and r.state.is_scheduled() and r.auto_scheduled]

    zone = ZoneInfo(schedule.schedule.timezone or "UTC")
    upcoming = wait_for(next_scheduled, 60, "run scheduled by the server", served["log"])
    first = min(r.expected_start_time for r in upcoming).astimezone(zone)
    assert first == next(CronSim(params["cron"], datetime.now(zone)))


def test_a_triggered_run_of_the_deployment_completes_on_the_server(triggered, server, project):
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    with _client(server) as client:
        run = client.read_flow_run(triggered["run_id"])
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])), limit=200)
    assert run.state.is_completed(), run.state
    assert run.parameters["targets"] == [TARGET]
    text = "\n".join(entry.message for entry in logs)
    # the pipeline run's log holds what DVC and the stages printed, in the UI
    for stage in ("ingest", "validate_raw", "preprocess", TARGET):
        assert f"Running stage '{stage}'" in text
    assert "Running stage 'train'" not in text
    assert "Starting temporary server" not in text  # every stage used the server
    # the clone's committed receipt was rewritten by this run, and says the dataset passed
    receipt = project / "data" / "validated" / "dataset.json"
    assert receipt.stat().st_mtime > triggered["started_at"]
    assert json.loads(receipt.read_text())["passed"]


def test_every_stage_that_ran_reported_to_the_same_server(triggered, server):
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with _client(server) as client:
        pipeline_run = client.read_flow_run(triggered["run_id"])
        stage_runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=list(DATA_STAGE_FLOWS)))
        )
        flow_names = {r.flow_id: client.read_flow(r.flow_id).name for r in stage_runs}
    ran = sorted(stage_runs, key=lambda r: r.start_time)
    assert [flow_names[r.flow_id] for r in ran] == list(DATA_STAGE_FLOWS)
    for stage_run in ran:
        assert stage_run.state.is_completed(), stage_run.state
        # inside the pipeline run: DVC started them as its subprocesses
        assert pipeline_run.start_time <= stage_run.start_time
        assert stage_run.end_time <= pipeline_run.end_time


@contextmanager
def database_locked(database: Path, seconds: float) -> Iterator[None]:
    """The server's sqlite database held by another writer for `seconds`, as a busy server's
    is: every write the server tries meanwhile fails "database is locked" (a 503 to clients)."""
    import sqlite3

    holder = sqlite3.connect(database, timeout=60, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(seconds, lambda: (holder.execute("COMMIT"), holder.close()))
    release.start()
    try:
        yield
    finally:
        release.join()


def test_stopping_the_served_process_pauses_the_schedule(prefect_server, project, tmp_path):
    """docs/operations.md: Ctrl-C on `python -m flows.pipeline` pauses the schedule on the server,
    so no run is started with nothing serving it, and serving again resumes it. A deployment
    of its own (another name in a copy of params.yaml): the module's served one stays up.

    The second time, Ctrl-C comes while the server cannot write (its database locked for a
    while, as a loaded machine's can be): the process waits for the server, and ends paused.

    Nothing here races the process: Ctrl-C goes once the runner polls for the deployment,
    the process is given minutes to end by itself, and since it pauses before it ends, the
    server is read once, after the exit (a poll would let a late pause pass)."""
    from prefect.client.schemas.objects import DeploymentStatus

    server = prefect_server["api"]
    env = prefect_env(tmp_path, PREFECT_API_URL=server, PREFECT_RUNNER_POLL_FREQUENCY="2")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["schedule"]["deployment_name"] = "pause-check"
    params_path = tmp_path / "params.yaml"
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    name = "pipeline/pause-check"
    command = [sys.executable, "-m", "flows.pipeline", "--params", str(params_path)]

    def deployment():
        with _client(server) as client:
            return client.read_deployment_by_name(name)

    def polled_since(start: datetime):  # this process's runner polls for the deployment
        found = deployment()
        return found if found.last_polled and found.last_polled > start else None

    for attempt, busy_s in (("served", 0), ("served again, stopped on a busy server", 20)):
        log = tmp_path / f"serve-{busy_s}.log"
        start = datetime.now(UTC)
        with background(command, cwd=project, env=env, log=log) as process:
            polled = partial(polled_since, start)
            live = wait_for(polled, STARTUP_TIMEOUT_S, f"runner polling ({attempt})", log)
            assert live.status == DeploymentStatus.READY and not live.paused  # resumed
            assert all(s.active for s in live.schedules)
            busy = database_locked(prefect_server["database"], busy_s) if busy_s else nullcontext()
            with busy:
                os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the group
                try:
                    code = process.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    pytest.fail(f"{attempt}: still running {STOP_TIMEOUT_S} s after Ctrl-C\n"
                                f"{log.read_text(errors='replace')[-4_000:]}")  # fmt: skip
        output = log.read_text(errors="replace")
        assert code == 0, f"{attempt}:\n{output[-4_000:]}"
        assert f"schedule of {name} paused" in output, f"{attempt}:\n{output[-4_000:]}"
        stopped = deployment()
        assert stopped.paused, f"{attempt}:\n{output[-4_000:]}"
