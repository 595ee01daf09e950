"""Flow `preprocess`: validated raw records -> the beat dataset (windows, RR features, labels).

Filters (baseline wander, power line, high-frequency noise), normalises amplitude, cuts beat
windows, computes RR features and AAMI labels for DS1, DS2 and the SVDB records (resampled
from 128 Hz to MITDB's 360 Hz); prints the class counts.
Each record is one task: one at a time here by default, or fanned out over Dask workers
(--workers N, --dask-address); the dataset is the same bytes either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from prefect import flow, get_run_logger

from arrhythmia.atomic import write_json
from arrhythmia.config import PreprocessParams, load_params
from arrhythmia.data.beat_dataset import build_beat_dataset, class_counts, save_dataset
from arrhythmia.data.records import RecordSelection, split_of
from arrhythmia.errors import ArrhythmiaError
from flows.stage_cli import run_stage, stage_parser
from flows.task_runner import (
    add_task_runner_options,
    per_record_task,
    results_in_order,
    run_fanned_out,
    task_runner,
)


class PreprocessFailed(ArrhythmiaError):
    """A record could not be made into beats."""


def format_class_counts(counts: dict[str, dict[str, int]]) -> str:
    classes = list(next(iter(counts.values())))
    lines = ["split " + " ".join(f"{c:>7}" for c in classes) + "   total"]
    for split, row in counts.items():
        cells = " ".join(f"{row[c]:>7}" for c in classes)
        lines.append(f"{split:<5} {cells} {sum(row.values()):>7}")
    return "\n".join(lines)


@per_record_task("preprocess")
def record_beats(raw_dir: str, record: str, p: PreprocessParams) -> dict[str, np.ndarray]:
    """One record's beats as a dataset of its own."""
    return build_beat_dataset(raw_dir, [record], p, progress=False)


# What `build_beat_dataset` adds once to the per-beat columns: the same for every record.
METADATA_KEYS = ("rr_names", "classes", "fs", "window_length", "window_pre")


def join_record_datasets(parts: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """What `build_beat_dataset` makes of several records, from what it made of each one
    alone: the per-beat columns end to end in record order, the metadata once (every part
    must share it)."""
    joined: dict[str, np.ndarray] = {}
    for key, first in parts[0].items():
        values = [part[key] for part in parts]
        if key not in METADATA_KEYS:
            joined[key] = np.concatenate(values)
        elif all(np.array_equal(v, first) for v in values):
            joined[key] = first
        else:
            raise ValueError(
                f"records differ in {key} ({sorted({str(v) for v in values})}); "
                "resample them to one rate first"
            )
    return joined


@flow(name="preprocess", task_runner=task_runner())
def preprocess_flow(
    params_path: str = "params.yaml", records: list[str] | None = None
) -> dict[str, dict[str, int]]:
    """The beat dataset of `records` (default: DS1, DS2 and SVDB in this order, as
    params.yaml's data.subset chooses them)."""
    p = load_params(params_path)
    chosen = RecordSelection.from_params(p.data.subset)
    records = chosen.ds1 + chosen.ds2 + chosen.svdb if records is None else records
    raw_dir = {
        r: p.paths.svdb_raw_dir if split_of(r) == "SVDB" else p.paths.raw_dir for r in records
    }
    futures = [record_beats.submit(raw_dir[r], r, p.preprocess) for r in records]
    parts = results_in_order(futures, "preprocess")
    # The first record that failed fails the stage: a dataset without it is not the dataset.
    for record, part in zip(records, parts, strict=True):
        if isinstance(part, BaseException):
            raise PreprocessFailed(f"record {record}: {type(part).__name__}: {part}") from part
    arrays = join_record_datasets(parts)
    save_dataset(p.paths.dataset, arrays)
    counts = class_counts(arrays)
    write_json(p.paths.class_counts, counts)
    get_run_logger().info("AAMI class counts per split:\n%s", format_class_counts(counts))
    return counts


def run_preprocess(
    params_path: str = "params.yaml",
    workers: int | None = None,
    dask_address: str | None = None,
    records: list[str] | None = None,
) -> dict[str, dict[str, int]]:
    """The flow with its records on `workers` local Dask workers or the cluster at
    `dask_address` (neither: one at a time in this process)."""
    return run_fanned_out(preprocess_flow, workers, dask_address, params_path, records)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("preprocess", __doc__)
    add_task_runner_options(parser)

    def action(args) -> str:
        counts = run_preprocess(args.params, args.workers, args.dask_address)
        return "AAMI class counts per split:\n" + format_class_counts(counts)

    return run_stage(parser, argv, action)


if __name__ == "__main__":
    # The tasks must come from `flows.preprocess`, not from `__main__`: Dask's scheduler and
    # workers unpickle them by module name, and their `__main__` is not this file.
    from flows.preprocess import main as importable_main

    raise SystemExit(importable_main())
