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
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from pathlib import Path

from prefect import flow

from arrhythmia.cli import add_diagnosis_options, diagnoser, summary_lines
from arrhythmia.config import load_params
from arrhythmia.console import EXPECTED_ERRORS
from arrhythmia.data.readers import RecordError, record_name
from arrhythmia.errors import ArrhythmiaError
from arrhythmia.inference.outputs import write_diagnosis
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


class BatchFailed(ArrhythmiaError):
    """Some records of the batch could not be diagnosed (each was reported)."""


@dataclass(frozen=True)
class DiagnosisOptions:
    """`arrhythmia predict`'s options for where beats and classes come from."""

    params: str = "params.yaml"
    model: str | None = None
    detector: str | None = None
    beats_from: str | None = None
    lead: str | None = None
    fs: float | None = None
    # What the model and detector are now (file size and time; the version an alias names).
    # Workers cache what they loaded by these options: a model retrained in place or an
    # alias moved since is then loaded afresh, never diagnosed with the old one.
    identity: tuple = ()


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
    names = [record_name(r) for r in records]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise BatchFailed(f"records {repeated} would write the same output files: "
                          "diagnose them in separate calls or folders")  # fmt: skip
    return records


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


def _is_uri(model: str) -> bool:
    return "://" in model or ":/" in model  # as arrhythmia.inference.model_handle reads it


def _identity(model: str) -> tuple:
    if _is_uri(model):
        return (model, _registry_version(model))
    path = Path(model)
    if not path.is_file():
        return (model,)
    status = path.stat()
    return (model, status.st_size, status.st_mtime_ns)


def identified(options: DiagnosisOptions) -> DiagnosisOptions:
    """`options` with the identity of the model and detector that will be used: params.yaml's
    where they name none (a registered model brings its own detector)."""
    model, detector = options.model, options.detector
    wants_detector = detector is None and options.beats_from is None
    if model is None or (wants_detector and not _is_uri(model)):
        paths = load_params(options.params).paths
        model = model or paths.model
        if wants_detector and not _is_uri(model):
            detector = paths.qrs_detector
    named = [m for m in (model, detector) if m is not None]
    return replace(options, identity=tuple(_identity(m) for m in named))


@lru_cache(maxsize=2)
def _loaded(options: DiagnosisOptions):
    """The model and detector, loaded once per worker process (not once per record)."""
    return diagnoser(argparse.Namespace(**asdict(options)))


@per_record_task("diagnose")
def diagnose_record(record: str, out: str, options: DiagnosisOptions, report: bool) -> list[str]:
    """Diagnose one record and write its files; predict's summary lines about them."""
    ecg, d, info = _loaded(options)(record)
    written = list(write_diagnosis(d, out, info))
    if report:
        from arrhythmia.reporting import render_holter

        written.append(render_holter(d, ecg.signal, info, Path(out) / f"{d.record}.html"))
    return summary_lines(d.record, info, written)


@flow(name="diagnose-batch", task_runner=task_runner())
def diagnose_batch_flow(
    records: list[str], out: str, options: DiagnosisOptions | None = None, report: bool = False
) -> dict[str, list[str]]:
    """Every record diagnosed into `out`: {record name: predict's summary lines}, in the
    order given."""
    options = identified(options or DiagnosisOptions())
    # Absolute, so a worker that runs elsewhere finds them (the names written stay the same).
    paths = [str(Path(r).absolute()) for r in records_in(records)]
    out = str(Path(out).absolute())
    futures = [diagnose_record.submit(r, out, options, report) for r in paths]
    done, failed = {}, []
    for path, outcome in zip(paths, results_in_order(futures, "diagnose"), strict=True):
        name = record_name(path)
        if not isinstance(outcome, BaseException):
            done[name] = outcome
            print("\n".join(outcome), flush=True)
            continue
        failed.append(name)
        kind = "" if isinstance(outcome, EXPECTED_ERRORS) else f"{type(outcome).__name__}: "
        print(f"{PROG}: error: {name}: {kind}{outcome}", file=sys.stderr, flush=True)
    if failed:
        raise BatchFailed(f"{len(failed)} of {len(paths)} records failed: {', '.join(failed)}")
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
        "records", nargs="+", metavar="RECORD_OR_FOLDER",
        help="records to diagnose (as for `arrhythmia predict`), or folders of them",
    )  # fmt: skip
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--report", action="store_true", help="also write OUT/<record>.html, the Holter report"
    )
    add_diagnosis_options(parser)
    add_task_runner_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    def action(args) -> str:
        names = [f.name for f in fields(DiagnosisOptions) if hasattr(args, f.name)]  # not identity
        given = {name: getattr(args, name) for name in names}
        options = DiagnosisOptions(**given)
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
