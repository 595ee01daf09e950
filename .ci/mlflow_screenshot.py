"""The README's picture of the MLflow runs table: the `arrhythmia` experiment opened in its
saved headline view, rendered by headless Chromium.

    .venv/bin/python .ci/mlflow_screenshot.py [--out reports/mlflow/runs_table.png]

Needs the pipeline's tracking store (run `make run` first) and `chromium` on PATH
(`apt-get install chromium`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/ is not installed

from tools.screenshot import find_chromium, screenshot  # noqa: E402
from tools.serving import free_port  # noqa: E402


def wait_until_up(url: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"mlflow ui did not answer at {url} within {timeout_s:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/mlflow/runs_table.png")
    parser.add_argument("--size", default="2400,600", help="window width,height in pixels")
    args = parser.parse_args()

    from arrhythmia.tracking.mlflow_setup import (
        ensure_experiment,
        headline_view_path,
        missing_sqlite_store,
        tracking_uri,
    )

    if find_chromium() is None:
        raise SystemExit("no chromium on PATH (apt-get install chromium)")
    absent = missing_sqlite_store()
    if absent is not None:
        raise SystemExit(f"no tracking store at {absent}: run `make run` first")
    store = tracking_uri()
    experiment_id = ensure_experiment(uri=store)  # makes sure it carries the headline view

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", store,
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health")
        url = f"http://127.0.0.1:{port}/#" + headline_view_path(experiment_id)
        width, height = (int(n) for n in args.size.split(","))
        # the UI draws its table after the page loads: give its scripts time to run
        out = screenshot(url, args.out, width=width, height=height,
                         extra_flags=("--virtual-time-budget=20000",))  # fmt: skip
        print(f"wrote {out} from {url}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
