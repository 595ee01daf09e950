"""Run `mlflow models serve` on a registered model as a subprocess on loopback, and post
requests to it: what the serving test and the latency benchmark do, exactly as docs/serving.md
tells a user to."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from arrhythmia.errors import ArrhythmiaError

START_TIMEOUT_S = 180.0  # loading torch and the model in a cold process


class ServeError(ArrhythmiaError):
    """The model server did not start."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    request_bytes: int
    response_bytes: int
    seconds: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict | bytes, timeout_s: float = 600.0) -> Answer:
    """POST a JSON body (a dict, or bytes already encoded) and time the answer."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    seconds = time.perf_counter() - started
    try:
        answer = json.loads(payload)
    except ValueError:  # e.g. the server's plain-text timeout (504)
        answer = {"message": payload.decode(errors="replace")}
    return Answer(status, answer, len(data), len(payload), seconds)


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def model_server(model_uri: str, tracking_uri: str, port: int | None = None) -> Iterator[str]:
    """`mlflow models serve -m MODEL_URI --env-manager local` on 127.0.0.1; yields the
    base URL once /ping answers, and stops the server on exit."""
    with served(model_uri, tracking_uri, port) as (base, _):
        yield base


@contextmanager
def served(
    model_uri: str,
    tracking_uri: str,
    port: int | None = None,
    workers: int = 1,
    env_extra: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`model_server` with `--workers N` and `env_extra` in the server's environment;
    yields the base URL and the server process (its workers are in its process group)."""
    mlflow_cli = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    port = port or free_port()
    env = {**os.environ, **(env_extra or {}), "MLFLOW_TRACKING_URI": tracking_uri}
    # the server starts uvicorn through the shell: this environment's bin/ must come first
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    command = [mlflow_cli, "models", "serve", "-m", model_uri, "-h", "127.0.0.1",
               "-p", str(port), "--env-manager", "local", "--workers", str(workers)]  # fmt: skip
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _up(f"{base}/ping"):
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read().decode(errors="replace")[-3000:]
                    raise ServeError(f"mlflow models serve did not start on {base}:\n{tail}")
                time.sleep(1.0)
            yield base, server
        finally:
            _stop(server)


def group_rss_mib(server: subprocess.Popen) -> float:
    """Resident memory of the server and every worker it started (its session), MiB. Pages
    the workers share (torch's libraries) count once per worker: growth is the figure to read."""
    listing = subprocess.run(["ps", "-o", "rss=", "--sid", str(server.pid)], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
    return sum(int(kib) for kib in listing.split()) / 1024


def _stop(server: subprocess.Popen) -> None:
    """Stop the server and the workers it started (its whole process group)."""
    import signal

    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
