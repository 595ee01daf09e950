"""Speed and memory of preprocessing and inference on this machine; prints its figures.

python benchmarks/speed_and_memory.py [--records 100 119 208]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import wfdb

from arrhythmia.config import load_params
from arrhythmia.inference.predict import load_model, predict_record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", nargs="+", default=["100", "119", "208", "232"])
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()

    params = load_params(args.params)
    raw = Path(params.paths.raw_dir)
    started = time.perf_counter()
    model = load_model(params.paths.model)
    print(f"model load: {time.perf_counter() - started:.2f} s")

    total_beats, total_seconds, total_signal = 0, 0.0, 0.0
    for record in args.records:
        started = time.perf_counter()
        prediction = predict_record(raw / record, model)
        elapsed = time.perf_counter() - started
        n = len(prediction.labels)
        total_beats += n
        total_seconds += elapsed
        header = wfdb.rdheader(str(raw / record))
        total_signal += header.sig_len / header.fs
        print(f"record {record}: {n} beats in {elapsed:.2f} s ({n / elapsed:,.0f} beats/s)")
    print(
        f"all: {total_beats} beats in {total_seconds:.2f} s: {total_beats / total_seconds:,.0f} "
        f"beats/s, {total_signal / total_seconds:,.0f} s of ECG per second (read, filter, "
        "window, classify)"
    )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
