"""A throw-away MLflow tracking server on loopback: PostgreSQL as its backend store and a
served (proxied) artifact store, for the tests and CI that check the pipeline against
`MLFLOW_TRACKING_URI=http://...`.

Both processes outlive the call that starts them (CI starts them from one command and
stops them from another): what `stop_tracking_services` needs is written to
`<state_dir>/services.json`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from arrhythmia.errors import ArrhythmiaError
from tools.serving import free_port

STATE_FILE = "services.json"
DATABASE = "mlflow"
DB_USER = "mlflow"
START_TIMEOUT_S = 180.0  # the server creates MLflow's tables on its first start
STOP_TIMEOUT_S = 30.0
# SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; the pipeline extra installs
# psycopg2-binary, so the driver is named.
BACKEND_SCHEME = "postgresql+psycopg2"
# Debian's packages put the server binaries here, off PATH.
DEBIAN_POSTGRES_BINS = Path("/usr/lib/postgresql")


class ServiceError(ArrhythmiaError):
    """PostgreSQL or the MLflow server did not start."""


@dataclass(frozen=True)
class TrackingServices:
    tracking_uri: str  # what MLFLOW_TRACKING_URI is set to: http://127.0.0.1:PORT
    backend_uri: str  # the server's backend store (SQLAlchemy URI)
    database_dsn: str  # the same database for libpq clients (psql, psycopg2.connect)
    artifacts_dir: str  # where the server keeps the artifacts it is sent
    postgres_dir: str  # PostgreSQL's data directory and log
    mlflow_pid: int
    mlflow_log: str


def postgres_bin_dir() -> Path | None:
    """The folder with PostgreSQL's server binaries (initdb, pg_ctl): PATH first, else the
    newest of Debian's /usr/lib/postgresql/<version>/bin; None when there are none."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    versions = sorted(
        (p for p in DEBIAN_POSTGRES_BINS.glob("*/bin") if (p / "pg_ctl").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else -1,
    )
    return versions[-1] if versions else None


def _as_postgres() -> list[str]:
    # initdb and postgres refuse to run as root
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=120, env=env
    )
    if done.returncode != 0:
        raise ServiceError(f"{what} failed ({done.returncode}): {done.stdout}{done.stderr}")


def start_postgres(directory: Path, port: int) -> str:
    """initdb + pg_ctl start on 127.0.0.1:`port` (socket in `directory`; the `mlflow` user
    with a fresh random password, scram-sha-256), then create the `mlflow` database; returns
    its libpq URI, password included."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise ServiceError("no PostgreSQL server binaries (apt-get install postgresql)")
    password = secrets.token_hex(16)  # hex: nothing to escape in a URI
    password_file = directory / "password"
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
        shutil.chown(password_file, "postgres", "postgres")
    data = directory / "data"
    try:
        # Password, not trust: any local user could otherwise connect as the superuser.
        _run(
            [*_as_postgres(), str(bin_dir / "initdb"), "-D", str(data), "-U", DB_USER,
             "--auth=scram-sha-256", f"--pwfile={password_file}", "-E", "UTF8", "--no-sync"],
            "initdb",
        )  # fmt: skip
    finally:
        password_file.unlink(missing_ok=True)
    # The cluster is thrown away afterwards: no fsync, so a busy disk does not slow the tests.
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
    _run(
        [*_as_postgres(), str(bin_dir / "pg_ctl"), "-D", str(data), "-l",
         str(directory / "postgres.log"), "-o", options, "-w", "-t", "60", "start"],
        "pg_ctl start",
    )  # fmt: skip
    _run(
        [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", DB_USER, DATABASE],
        "createdb",
        env=dict(os.environ, PGPASSWORD=password),
    )
    return f"postgresql://{DB_USER}:{password}@127.0.0.1:{port}/{DATABASE}"


def stop_postgres(directory: Path) -> None:
    bin_dir = postgres_bin_dir()
    data = directory / "data"
    if bin_dir is not None and (data / "postmaster.pid").is_file():
        _run(
            [*_as_postgres(), str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
             "stop"],
            "pg_ctl stop",
        )  # fmt: skip


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_mlflow_server(
    backend_uri: str, artifacts_dir: Path, port: int, log_path: Path
) -> subprocess.Popen:
    """`mlflow server` on 127.0.0.1:`port` with `backend_uri` as its backend store and
    `artifacts_dir` behind its artifact proxy (clients upload and download over HTTP);
    returns once /health answers."""
    bin_dir = Path(sys.executable).parent
    mlflow_cli = shutil.which("mlflow", path=str(bin_dir)) or "mlflow"
    command = [mlflow_cli, "server", "--artifacts-destination", str(artifacts_dir),
               "--serve-artifacts", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1"]  # fmt: skip
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    # from the environment, not the command line, where `ps` would show its password
    env["MLFLOW_BACKEND_STORE_URI"] = backend_uri
    env.pop("MLFLOW_TRACKING_URI", None)
    # The job runner (GenAI scorers, eight processes) serves nothing this project uses.
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    with log_path.open("ab") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _healthy(url):
        if server.poll() is not None or time.monotonic() > deadline:
            _stop_group(server.pid)
            tail = log_path.read_text(errors="replace")[-3000:]
            raise ServiceError(f"mlflow server did not start on {url}:\n{tail}")
        time.sleep(1.0)
    return server


def _gone(pid: int) -> bool:
    try:  # reap it when it is our child, or it lingers as a zombie
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _stop_group(pid: int) -> None:
    """SIGTERM the process group that `pid` leads (the server and its workers), then
    SIGKILL whatever is left after STOP_TIMEOUT_S."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            if _gone(pid):
                return
            time.sleep(0.2)


def start_tracking_services(
    state_dir: str | Path, port: int | None = None, postgres_port: int | None = None
) -> TrackingServices:
    """PostgreSQL, then `mlflow server` on it; both keep running until
    `stop_tracking_services(state_dir)`."""
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    # As root, PostgreSQL runs as `postgres`, which must reach its folder: not one under a
    # private temporary folder such as pytest's.
    postgres_dir = Path(tempfile.mkdtemp(prefix="arrhythmia-postgres-"))
    artifacts_dir = state_dir / "artifacts"
    artifacts_dir.mkdir(exist_ok=True)
    log_path = state_dir / "mlflow-server.log"
    state = state_dir / STATE_FILE
    state.write_text(json.dumps({"postgres_dir": str(postgres_dir)}))
    try:
        dsn = start_postgres(postgres_dir, postgres_port or free_port())
        backend_uri = dsn.replace("postgresql://", f"{BACKEND_SCHEME}://", 1)
        port = port or free_port()
        server = start_mlflow_server(backend_uri, artifacts_dir, port, log_path)
    except BaseException:
        stop_tracking_services(state_dir)
        raise
    services = TrackingServices(
        tracking_uri=f"http://127.0.0.1:{port}",
        backend_uri=backend_uri,
        database_dsn=dsn,
        artifacts_dir=str(artifacts_dir),
        postgres_dir=str(postgres_dir),
        mlflow_pid=server.pid,
        mlflow_log=str(log_path),
    )
    state.write_text(json.dumps(asdict(services), indent=2))
    return services


def stop_tracking_services(state_dir: str | Path) -> None:
    """Stop what `start_tracking_services(state_dir)` started and delete PostgreSQL's
    folder; the artifacts and the server's log stay in `state_dir`."""
    state = Path(state_dir) / STATE_FILE
    if not state.is_file():
        return
    started = json.loads(state.read_text())
    if "mlflow_pid" in started:
        _stop_group(started["mlflow_pid"])
    postgres_dir = Path(started["postgres_dir"])
    try:
        stop_postgres(postgres_dir)
    finally:
        shutil.rmtree(postgres_dir, ignore_errors=True)
        state.unlink()


@contextmanager
def tracking_services(state_dir: str | Path) -> Iterator[TrackingServices]:
    """`start_tracking_services` for the duration of a `with` block."""
    services = start_tracking_services(state_dir)
    try:
        yield services
    finally:
        stop_tracking_services(state_dir)
