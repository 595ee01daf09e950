"""Request and response sizes and latency of the served diagnosis on this machine; prints
its figures.

    python benchmarks/serve_latency.py [--record data/raw/mitdb/208] [--repeats 5]

Starts `mlflow models serve -m models:/arrhythmia-cnn@champion --env-manager local` on
loopback from the pipeline's tracking store (run `make run` first), as docs/serving.md does,
then posts raw-ECG requests made from a MITDB record: 60 s, 30 min and 2 h (the 30-min
record four times over). Latency is the wall time of the POST as a client sees it (JSON
parsing, schema checks, the whole diagnosis, the JSON answer), the median over the
repeats after one warm-up request. MLflow's server gives up on a request after
MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT seconds (60 by default); it is raised here so the
2-hour figure is measured, and the output says whether it would fit the default.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tools/ is run from the project, not installed

from arrhythmia.config import load_params  # noqa: E402
from arrhythmia.data.readers import read_record  # noqa: E402
from arrhythmia.inference.request import request_body  # noqa: E402
from arrhythmia.signal.ecg import primary_lead_first  # noqa: E402
from arrhythmia.tracking.mlflow_setup import missing_sqlite_store, tracking_uri  # noqa: E402
from tools.serving import model_server, post  # noqa: E402

MODEL_URI = "models:/arrhythmia-cnn@champion"
LENGTHS_S = {"60 s": 60.0, "30 min": 1800.0, "2 h": 7200.0}
DEFAULT_TIMEOUT_S = 60.0  # MLflow's MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT default


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", default=None, help="default: <raw_dir>/208")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    record = args.record or f"{load_params(args.params).paths.raw_dir}/208"
    if missing_sqlite_store():
        raise SystemExit(f"serve_latency: no tracking store at {tracking_uri()}: run `make run`")
    ecg = primary_lead_first(read_record(record))
    longest = int(max(LENGTHS_S.values()) * ecg.fs)
    copies = -(-longest // len(ecg.signal))
    ecg = replace(ecg, signal=np.tile(ecg.signal, (copies, 1))[:longest])
    bodies = {name: json.dumps(request_body(ecg, 0.0, s)).encode() for name, s in
              LENGTHS_S.items()}  # fmt: skip

    os.environ["MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"] = "600"
    with model_server(MODEL_URI, tracking_uri()) as url:
        print(f"serve_latency: {MODEL_URI} served at {url}; record {ecg.name}, "
              f"{len(ecg.leads)} leads at {ecg.fs:g} Hz; median of {args.repeats} requests "
              "after one warm-up")  # fmt: skip
        print(f"{'request':>8} {'request MB':>11} {'response kB':>12} {'beats':>6} "
              f"{'latency s':>10} {'min-max s':>12}  under {DEFAULT_TIMEOUT_S:.0f} s")  # fmt: skip
        for name, body in bodies.items():
            warm = post(f"{url}/invocations", body)
            if warm.status != 200:
                raise SystemExit(f"serve_latency: {name}: HTTP {warm.status}: {warm.body}")
            answers = [post(f"{url}/invocations", body) for _ in range(args.repeats)]
            seconds = [a.seconds for a in answers]
            beats = warm.body["predictions"]["summary"]["n_beats"]
            print(f"{name:>8} {warm.request_bytes / 1e6:11.2f} {warm.response_bytes / 1e3:12.1f} "
                  f"{beats:6d} {statistics.median(seconds):10.2f} "
                  f"{min(seconds):5.2f}-{max(seconds):5.2f}  "
                  f"{'yes' if max(seconds) < DEFAULT_TIMEOUT_S else 'no'}")  # fmt: skip


if __name__ == "__main__":
    main()
