"""Flow `diagnose-batch`: `arrhythmia predict` over many records, one task per record.

    python -m flows.diagnose_batch RECORD_OR_FOLDER... --out OUT [--report]
        [--workers N | --dask-address tcp://host:8786] [--model ...] [--detector ...]

Writes the files `arrhythmia predict` writes (OUT/<record>.cnn, .json and with --report
.html), byte for byte, and prints the same lines. A folder stands for every record in it
(WFDB headers, .edf, .csv). The records run one at a time here by default, or fan out over
Dask workers; each worker loads the model once. A record that fails is reported on one line
and the others still finish (exit status 1 if any failed), as with predict.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from prefect import flow

from arrhythmia.cli import add_diagnosis_options
from arrhythmia.data.readers import RecordError, record_name
from arrhythmia.inference.diagnoser import (
    Diagnoser,
    DiagnosisOptions,
    diagnose_into,
    distinct_records,
    failure_line,
    load_diagnoser,
    named_files,
    records_failed,
)
from arrhythmia.inference.model_handle import is_model_uri
from arrhythmia.reporting import render_holter
from flows.stage_cli import run_stage, stage_parser
from flows.task_runner import (
    add_task_runner_options,
    per_record_task,
    results_in_order,
    run_fanned_out,
    task_runner,
)

PROG = "python -m flows.diagnose_batch"
RECORD_SUFFIXES = (".hea", ".edf", ".csv")  # what a folder's records are found by


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


@per_record_task("diagnose")
def diagnose_record(
    record: str, out: str, options: DiagnosisOptions, identity: tuple, report: bool
) -> list[str]:
    """Diagnose one record and write its files; predict's summary lines about them."""
    page = render_holter if report else None
    return diagnose_into(_loaded(options, identity), record, out, page)


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
    futures = [diagnose_record.submit(r, out, options, now, report) for r in paths]
    done, failed = {}, []
    for path, outcome in zip(paths, results_in_order(futures, "diagnose"), strict=True):
        if not isinstance(outcome, BaseException):
            done[record_name(path)] = outcome
            print("\n".join(outcome), flush=True)
            continue
        failed.append(path)
        print(failure_line(PROG, path, outcome), file=sys.stderr, flush=True)
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
    one record at a time in this process)."""
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
