"""Flow `diagnose-batch`: `arrhythmia predict` over many records, one task per batch of records.

    python -m flows.diagnose_batch RECORD_OR_FOLDER... --out OUT [--report]
        [--workers N | --dask-address tcp://host:8786] [--model ...] [--detector ...]

Writes the files `arrhythmia predict` writes (OUT/<record>.cnn, .json and with --report
.html) and prints the same lines; short records classified together may round a beat
probability differently at the 4th decimal, as `predict` over many records does. A folder
stands for every record in it (WFDB headers, .edf, .csv). Records are handed out in order,
in batches that close once their files reach BATCH_BYTES on disk (one 30-minute record,
or some 55 strips of 30 s), each diagnosed as `predict` diagnoses many records: short ones
classified together, so a folder of strips does not pay a task and a call of the networks
per strip. The batches run one at a time here by default, or fan out over Dask workers;
each worker loads the model once. A record that fails is reported on one line (and in the
task's Prefect log) and the others still finish (exit status 1 if any failed), as with
predict; one that fails on an I/O hiccup is tried again. A batch whose task fails as a
whole (Dask giving up on a lost worker, say) reports each of its records.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.exceptions import MissingContextError

from arrhythmia.cli import add_diagnosis_options
from arrhythmia.data.readers import RecordError, record_name
from arrhythmia.inference.diagnoser import (
    Diagnoser,
    DiagnosisOptions,
    diagnose_all_into,
    diagnose_into,
    distinct_records,
    failure_line,
    load_diagnoser,
    named_files,
    records_failed,
)
from arrhythmia.inference.many_records import caught
from arrhythmia.inference.model_handle import is_model_uri
from arrhythmia.reporting import render_holter
from flows.stage_cli import run_stage, stage_parser
from flows.task_runner import (
    add_task_runner_options,
    is_transient,
    per_batch_task,
    results_in_order,
    run_fanned_out,
    task_runner,
)

PROG = "python -m flows.diagnose_batch"
RECORD_SUFFIXES = (".hea", ".edf", ".csv")  # what a folder's records are found by
SINGLE_FILE_SUFFIXES = (".edf", ".csv")  # a record in one file (else a WFDB record)
WFDB_SIGNAL_SUFFIXES = (".hea", ".dat", ".mat")  # what a WFDB record's size counts
# A batch closes once its records' files reach this size: one 30-minute MITDB record, or
# some 55 CinC strips of 30 s. Enough batches for the workers, few enough that a task's own
# cost (its Prefect run, a call of the networks) is shared by many strips.
BATCH_BYTES = 1_000_000
RETRIES, RETRY_DELAY_S = 2, 5.0  # for a record that failed on an I/O hiccup


@dataclass(frozen=True)
class RecordFailure:
    """A record that failed, as the line that reports it (an exception itself may not
    survive the trip back from a Dask worker)."""

    line: str


def records_in(paths: Sequence[str | Path]) -> list[str]:
    """The records named, a folder standing for the records in it (sorted by file name):
    each WFDB header as its record path, each EDF and CSV file."""
    records: list[str] = []
    for path in map(Path, paths):
        if not path.is_dir():
            records.append(str(path))
            continue
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in RECORD_SUFFIXES)
        if not found:
            raise RecordError(f"{path}: no records here (WFDB .hea, .edf or .csv files)")
        records.extend(str(p.with_suffix("") if p.suffix.lower() == ".hea" else p) for p in found)
    return distinct_records(records)


def _registry_version(uri: str) -> str | None:
    """The version `models:/name@alias` names now; None for URIs that cannot move."""
    match = re.fullmatch(r"models:/([^/@]+)@([^/]+)", uri)
    if match is None:
        return None
    from mlflow import MlflowClient

    from arrhythmia.tracking.mlflow_setup import tracking_uri

    try:
        return MlflowClient(tracking_uri()).get_model_version_by_alias(*match.groups()).version
    except Exception:  # no such model or alias: loading it says so, one record at a time
        return None


def _identity(model: str) -> tuple:
    if is_model_uri(model):
        return (model, _registry_version(model))
    path = Path(model)
    if not path.is_file():
        return (model,)
    status = path.stat()
    return (model, status.st_size, status.st_mtime_ns)


def identity_now(options: DiagnosisOptions) -> tuple:
    """What the model and detector the options name are now (file size and time; the
    version an alias names). Workers cache what they loaded by it: a model retrained in
    place or an alias moved since is then loaded afresh, never diagnosed with the old one."""
    return tuple(_identity(name) for name in named_files(options) if name is not None)


@lru_cache(maxsize=2)
def _loaded(options: DiagnosisOptions, identity: tuple) -> Diagnoser:
    """The model and detector, loaded once per worker process (not once per record)."""
    return load_diagnoser(options)


def _file_sizes(folder: Path) -> dict[str, int]:
    """Every file of a folder with its size: one listing, however many records it holds
    (none for a folder that is not there: its records fail when read)."""
    if not folder.is_dir():
        return {}
    return {e.name: e.stat().st_size for e in os.scandir(folder) if e.is_file()}


def record_bytes(record: str, sizes: dict[str, int] | None = None) -> int:
    """The size on disk of a record's files (a WFDB record, named with or without its
    .hea or .dat: its header and signal files; not its annotations). `sizes`: the listing
    of its folder, where known; 0 for a record that is not there (it fails when read)."""
    path = Path(record)
    sizes = _file_sizes(path.parent) if sizes is None else sizes
    if path.suffix.lower() in SINGLE_FILE_SUFFIXES:
        return sizes.get(path.name, 0)
    if path.suffix.lower() in (".hea", ".dat"):
        path = path.with_suffix("")
    return sum(sizes.get(path.name + suffix, 0) for suffix in WFDB_SIGNAL_SUFFIXES)


def record_batches(records: Sequence[str], max_bytes: int | None = None) -> list[list[str]]:
    """The records in order, cut into batches that close once they reach `max_bytes`
    (BATCH_BYTES where not given)."""
    max_bytes = BATCH_BYTES if max_bytes is None else max_bytes
    listings: dict[Path, dict[str, int]] = {}
    batches: list[list[str]] = []
    size = max_bytes
    for record in records:
        folder = Path(record).parent
        if folder not in listings:
            listings[folder] = _file_sizes(folder)
        if size >= max_bytes:
            batches.append([])
            size = 0
        batches[-1].append(record)
        size += record_bytes(record, listings[folder])
    return batches


def batch_name(batch: Sequence[str]) -> str:
    first, last = record_name(batch[0]), record_name(batch[-1])
    return first if len(batch) == 1 else f"{first} .. {last} ({len(batch)} records)"


@per_batch_task("diagnose")
def diagnose_records(
    name: str, batch: list[str], out: str, options: DiagnosisOptions, identity: tuple,
    report: bool,
) -> list[list[str] | RecordFailure]:  # fmt: skip
    """Diagnose a batch of records (`name` names it) and write their files: for each,
    predict's summary lines about them, or the line that says why it failed."""
    diagnoser, page = _loaded(options, identity), render_holter if report else None
    outcomes = [lines for _, lines in diagnose_all_into(diagnoser, batch, out, page)]
    _retry_io_hiccups(outcomes, batch, lambda record: diagnose_into(diagnoser, record, out, page))
    failures = [
        RecordFailure(failure_line(PROG, path, o)) if isinstance(o, Exception) else o
        for path, o in zip(batch, outcomes, strict=True)
    ]
    for failure in failures:
        if isinstance(failure, RecordFailure):
            _run_log().error(failure.line)
    return failures


def _run_log() -> logging.Logger:
    """The task run's Prefect logger; this module's where no run is going (a direct call)."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def _retry_io_hiccups(outcomes: list, batch: list[str], diagnose_one) -> None:
    """Diagnose again, alone, each record whose outcome is an I/O hiccup: up to RETRIES
    more times, RETRY_DELAY_S apart; `outcomes` updated in place."""
    for attempt in range(1, RETRIES + 1):
        again = [i for i, o in enumerate(outcomes) if isinstance(o, Exception) and is_transient(o)]
        if not again:
            return
        _run_log().warning(
            "retry %d of %d in %.0f s: %s", attempt, RETRIES, RETRY_DELAY_S,
            ", ".join(f"{record_name(batch[i])} ({outcomes[i]})" for i in again),
        )  # fmt: skip
        time.sleep(RETRY_DELAY_S)
        for i in again:
            outcomes[i] = caught(diagnose_one, batch[i])


@flow(name="diagnose-batch", task_runner=task_runner())
def diagnose_batch_flow(
    records: list[str], out: str, options: DiagnosisOptions | None = None, report: bool = False
) -> dict[str, list[str]]:
    """Every record diagnosed into `out`: {record name: predict's summary lines}, in the
    order given."""
    options = options or DiagnosisOptions()
    now = identity_now(options)
    # Absolute, so a worker that runs elsewhere finds them (the names written stay the same).
    paths = [str(Path(r).absolute()) for r in records_in(records)]
    out = str(Path(out).absolute())
    batches = record_batches(paths)
    futures = [
        diagnose_records.submit(batch_name(b), b, out, options, now, report) for b in batches
    ]
    done, failed = {}, []
    sizes = [len(b) for b in batches]
    for batch, outcomes in zip(batches, results_in_order(futures, "diagnose", sizes), strict=True):
        if isinstance(outcomes, BaseException):  # the task itself failed: all of its records
            outcomes = [RecordFailure(failure_line(PROG, path, outcomes)) for path in batch]
        for path, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, RecordFailure):
                failed.append(path)
                print(outcome.line, file=sys.stderr, flush=True)
                continue
            done[record_name(path)] = outcome
            print("\n".join(outcome), flush=True)
    if failed:
        raise records_failed(failed, len(paths))
    return done


def run_diagnose_batch(
    records: list[str],
    out: str,
    options: DiagnosisOptions | None = None,
    report: bool = False,
    workers: int | None = None,
    dask_address: str | None = None,
) -> dict[str, list[str]]:
    """The flow on `workers` local Dask workers or the cluster at `dask_address` (neither:
    one batch at a time in this process)."""
    return run_fanned_out(diagnose_batch_flow, workers, dask_address, records, out, options, report)


def build_parser() -> argparse.ArgumentParser:
    parser = stage_parser("diagnose_batch", __doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "records",
        nargs="+",
        metavar="RECORD_OR_FOLDER",
        help="records to diagnose (as for `arrhythmia predict`), or folders of them",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--report", action="store_true", help="also write OUT/<record>.html, the Holter report"
    )
    add_diagnosis_options(parser)
    add_task_runner_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    def action(args) -> str:
        options = DiagnosisOptions.from_args(args)
        done = run_diagnose_batch(
            args.records, args.out, options, args.report, args.workers, args.dask_address
        )
        return f"diagnose_batch: {len(done)} records diagnosed into {args.out}"

    return run_stage(build_parser(), argv, action)


if __name__ == "__main__":
    # The tasks must come from `flows.diagnose_batch`, not from `__main__`: Dask's scheduler and
    # workers unpickle them by module name, and their `__main__` is not this file.
    from flows.diagnose_batch import main as importable_main

    raise SystemExit(importable_main())
