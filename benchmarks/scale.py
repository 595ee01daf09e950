"""Records per second of the per-record flows, one at a time and on 1 and 2 Dask workers.

    python benchmarks/scale.py [--mitdb DIR] [--records 8] [--workers 1 2]

Runs the preprocess flow (beat dataset) and the batch diagnosis flow (models/cnn.pt and
models/qrs_detector.npz, as `arrhythmia predict`) on the first N MITDB records of DS1 + DS2
(ARRHYTHMIA_MITDB_MIRROR, else ../shared/data/mitdb): in this process one record at a
time, then on a local Dask cluster of each size given. Each cluster is started and its
workers have imported the flows before the clock starts (the start is its own column);
a worker's peak resident memory is read from the worker after both flows. CPU seconds per
record are printed beside records per second: on a machine busy with other work the
latter says little, the former does. Every run's outputs are compared byte for byte with
the one-at-a-time run's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # flows/ is run from the project, not installed

from mitdb_mirror import mitdb_mirror  # noqa: E402

from arrhythmia.config import load_raw_params  # noqa: E402
from arrhythmia.data.records import DS1, DS2  # noqa: E402


def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _warm_up() -> int:
    """Imports a worker would otherwise pay for inside the first timed task."""
    import torch

    import flows.diagnose_batch  # noqa: F401
    import flows.preprocess  # noqa: F401

    return torch.get_num_threads()


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _cpu_s(client) -> float:
    """CPU seconds used so far by the cluster's workers (no cluster: by this process)."""
    if client is None:
        return time.process_time()
    return sum(client.run(time.process_time).values())


def run_both(workdir: Path, mitdb: Path, records: list[str], client) -> dict:
    """Both flows once, on the cluster of `client` (None: one at a time in this process):
    records per second, CPU seconds per record, and what they wrote."""
    from flows.diagnose_batch import DiagnosisOptions, run_diagnose_batch
    from flows.preprocess import run_preprocess

    address = client.scheduler.address if client is not None else None
    raw = load_raw_params(ROOT / "params.yaml")
    raw["paths"].update(raw_dir=str(mitdb), dataset=str(workdir / "beats.npz"),
                        class_counts=str(workdir / "class_counts.json"))  # fmt: skip
    workdir.mkdir()
    params = workdir / "params.yaml"
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    options = DiagnosisOptions(model=str(ROOT / "models" / "cnn.pt"),
                               detector=str(ROOT / "models" / "qrs_detector.npz"))  # fmt: skip
    out = workdir / "diagnoses"
    runs = {
        "preprocess": lambda: run_preprocess(str(params), dask_address=address, records=records),
        "diagnose": lambda: run_diagnose_batch(
            [str(mitdb / r) for r in records], str(out), options, dask_address=address
        ),
    }
    figures = {}
    for name, run in runs.items():
        cpu, started = _cpu_s(client), time.perf_counter()
        run()
        seconds = time.perf_counter() - started
        figures[name] = (len(records) / seconds, (_cpu_s(client) - cpu) / len(records))
    written = {name: (workdir / name).read_bytes() for name in ("beats.npz", "class_counts.json")}
    return {**figures, "outputs": {**written, **_outputs(out)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", default=None, help="MITDB folder (default: the mirror)")
    parser.add_argument("--records", type=int, default=8, help="how many records (%(default)s)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    mitdb = mitdb_mirror(args.mitdb)
    records = list(DS1 + DS2)[: args.records]
    from distributed import Client, LocalCluster
    from prefect import flow

    from flows.task_runner import ONE_THREAD

    flow(lambda: None, name="warm-up")()  # Prefect's temporary server starts here, untimed
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        first = run_both(Path(tmp) / "in-process", mitdb, records, client=None)
        rows.append(("in process, one at a time", "-", first, "-", "reference"))
        for n in args.workers:
            started = time.perf_counter()
            with (
                LocalCluster(n_workers=n, threads_per_worker=1, processes=True, env=ONE_THREAD,
                             dashboard_address=None) as cluster,
                Client(cluster) as client,
            ):  # fmt: skip
                threads = set(client.run(_warm_up).values())
                start_s = time.perf_counter() - started
                result = run_both(Path(tmp) / f"{n}-workers", mitdb, records, client)
                peak = max(client.run(_peak_rss_mib).values())
            same = "yes" if result["outputs"] == first["outputs"] else "NO"
            name = f"{n} Dask worker{'s' * (n > 1)}"
            rows.append((name, f"{start_s:.1f}", result, f"{peak:,.0f}", same))
            print(f"({n} workers: torch threads per worker {sorted(threads)})", file=sys.stderr)

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{len(records)} MITDB records ({', '.join(records)}), {os.cpu_count()} cores, "
          f"load average {load} (1, 5, 15 min) at the end")  # fmt: skip
    print("| runner | cluster start s | preprocess records/s (CPU s/record) | diagnose "
          "records/s (CPU s/record) | peak MiB per worker | same bytes |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, start, result, peak, same in rows:
        (pre, pre_cpu), (dia, dia_cpu) = result["preprocess"], result["diagnose"]
        print(f"| {name} | {start} | {pre:.2f} ({pre_cpu:.2f}) | {dia:.2f} ({dia_cpu:.2f}) | "
              f"{peak} | {same} |")  # fmt: skip
    print("CPU s/record: the workers' CPU time (in process: this process's) per record; on "
          "N free cores the flow would do about N / that many records per second.")  # fmt: skip


if __name__ == "__main__":
    main()
