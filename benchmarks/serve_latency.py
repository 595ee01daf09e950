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

Then the concurrent case (issue 20's bar): 20 clients at once post 100 requests, 90 good
60-s two-lead requests and 10 bad ones mixed in (no sampling rate, 5 s of signal, a lead
of text), to a server with each `--workers` count (torch given cores // workers threads
in each worker, so the workers do not fight over the cores). Printed: good requests per
second, latency p50 / p99 of the good ones (of 90, the p99 is the slowest), failures (a
good request not answered 200 with the lone request's answer, or a bad one not answered
400, or a connection that failed), and the server's resident memory (all its workers)
before and after; each round twice on the same server, so that a high-water mark (the
second round adds little) is told from a leak (it keeps growing).

    python benchmarks/serve_latency.py --concurrent-only --workers 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
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
from tools.serving import group_rss_mib, model_server, post, served  # noqa: E402

MODEL_URI = "models:/arrhythmia-cnn@champion"
LENGTHS_S = {"60 s": 60.0, "30 min": 1800.0, "2 h": 7200.0}
DEFAULT_TIMEOUT_S = 60.0  # MLflow's MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT default
CLIENTS, GOOD, BAD = 20, 90, 10
ROUNDS = 2  # the same 100 requests again: memory that keeps growing would be a leak


def bad_bodies(good: dict) -> list[bytes]:
    """Requests the server must refuse with a 400: no rate, too short, not numbers."""
    no_rate = {"inputs": good["inputs"], "params": {"leads": good["params"]["leads"]}}
    fs = good["params"]["fs"]
    short = {"inputs": {"ecg": good["inputs"]["ecg"][: int(5 * fs)]}, "params": good["params"]}
    text = {"inputs": {"ecg": [["a", "b"]] * int(12 * fs)}, "params": good["params"]}
    return [json.dumps(b).encode() for b in (no_rate, short, text)]


def concurrent_case(url: str, good: bytes, bad: list[bytes], expected: dict) -> dict:
    """CLIENTS threads post GOOD good and BAD bad requests (bad ones spread among them)."""
    every = (GOOD + BAD) // BAD
    bodies = [(bad[i // every % len(bad)], False) if i % every == every - 1 else (good, True)
              for i in range(GOOD + BAD)]  # fmt: skip
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(lambda body: _post_or_none(f"{url}/invocations", body[0]), bodies))
    wall = time.perf_counter() - started
    failures = sum(
        a is None
        or ((a.status != 200 or a.body.get("predictions") != expected) if good else a.status != 400)
        for a, (_, good) in zip(answers, bodies, strict=True)
    )
    seconds = sorted(
        a.seconds for a, (_, good) in zip(answers, bodies, strict=True) if good and a is not None
    )
    return {"good_per_s": GOOD / wall, "p50_s": seconds[len(seconds) // 2],
            "p99_s": seconds[min(len(seconds) - 1, int(0.99 * len(seconds)))],
            "failures": failures, "wall_s": wall}  # fmt: skip


def _post_or_none(url: str, body: bytes):
    """The answer, or None where the connection itself failed (a failure, counted)."""
    try:
        return post(url, body)
    except OSError:
        return None


def run_concurrent(workers: list[int], good: dict) -> None:
    body, bad = json.dumps(good).encode(), bad_bodies(good)
    print(f"concurrent: {CLIENTS} clients, {GOOD} good 60-s requests and {BAD} bad ones")
    print(f"{'workers':>7} {'good/s':>7} {'p50 s':>6} {'p99 s':>6} {'failures':>8} "
          f"{'MiB before':>10} {'MiB after':>9}")  # fmt: skip
    for n in workers:
        threads = {"OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // n))}
        with served(MODEL_URI, tracking_uri(), workers=n, env_extra=threads) as (url, server):
            lone = post(f"{url}/invocations", body)  # the answer every good request must give
            if lone.status != 200:
                raise SystemExit(f"serve_latency: a lone 60-s request: HTTP {lone.status}")
            expected = lone.body["predictions"]
            memory = [group_rss_mib(server)]
            for _ in range(ROUNDS):
                r = concurrent_case(url, body, bad, expected)
                memory.append(group_rss_mib(server))
                print(f"{n:7d} {r['good_per_s']:7.2f} {r['p50_s']:6.2f} {r['p99_s']:6.2f} "
                      f"{r['failures']:8d} {memory[-2]:10.0f} {memory[-1]:9.0f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", default=None, help="default: <raw_dir>/208")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="server worker counts for the concurrent case")  # fmt: skip
    parser.add_argument("--concurrent-only", action="store_true",
                        help="only the concurrent case")  # fmt: skip
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
    if not args.concurrent_only:
        sizes(bodies, ecg, args.repeats)
    run_concurrent(args.workers, request_body(ecg, 0.0, LENGTHS_S["60 s"]))


def sizes(bodies: dict, ecg, repeats: int) -> None:
    """One request at a time: latency of each length."""
    with model_server(MODEL_URI, tracking_uri()) as url:
        print(f"serve_latency: {MODEL_URI} served at {url}; record {ecg.name}, "
              f"{len(ecg.leads)} leads at {ecg.fs:g} Hz; median of {repeats} requests "
              "after one warm-up")  # fmt: skip
        print(f"{'request':>8} {'request MB':>11} {'response kB':>12} {'beats':>6} "
              f"{'latency s':>10} {'min-max s':>12}  under {DEFAULT_TIMEOUT_S:.0f} s")  # fmt: skip
        for name, body in bodies.items():
            warm = post(f"{url}/invocations", body)
            if warm.status != 200:
                raise SystemExit(f"serve_latency: {name}: HTTP {warm.status}: {warm.body}")
            answers = [post(f"{url}/invocations", body) for _ in range(repeats)]
            seconds = [a.seconds for a in answers]
            beats = warm.body["predictions"]["summary"]["n_beats"]
            print(f"{name:>8} {warm.request_bytes / 1e6:11.2f} {warm.response_bytes / 1e3:12.1f} "
                  f"{beats:6d} {statistics.median(seconds):10.2f} "
                  f"{min(seconds):5.2f}-{max(seconds):5.2f}  "
                  f"{'yes' if max(seconds) < DEFAULT_TIMEOUT_S else 'no'}")  # fmt: skip


if __name__ == "__main__":
    main()
