"""Flow `ingest`: MITDB and SVDB records, CinC 2017 strips, and VFDB and CUDB records from
PhysioNet (or local mirrors) into data/raw, verified.

Source: PhysioNet over HTTPS, or local folders (ARRHYTHMIA_MITDB_MIRROR,
ARRHYTHMIA_SVDB_MIRROR, ARRHYTHMIA_CINC2017_MIRROR, ARRHYTHMIA_VFDB_MIRROR,
ARRHYTHMIA_CUDB_MIRROR, or ARRHYTHMIA_MIRROR holding mitdb/, svdb/, cinc2017/, vfdb/ and
cudb/). Every file is checked against the SHA256SUMS shipped with the package; files already
present and verified are not fetched again.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from arrhythmia.config import load_params
from arrhythmia.data.fetch import (
    FetchReport,
    fetch_database,
    packaged_checksums,
    physionet_challenge_name,
    resolve_source,
)
from arrhythmia.data.records import RecordSelection, record_files
from flows.stage_cli import run_stage, stage_parser

REMOTE_NAMES = {"cinc2017": physionet_challenge_name}  # where PhysioNet keeps a strip


def database_files(selection: RecordSelection) -> dict[str, list[str]]:
    """Database -> the files the pipeline uses of it."""
    return {
        "mitdb": record_files(selection.mitdb),
        "svdb": record_files(selection.svdb),
        "cinc2017": selection.cinc2017_files(),
        "vfdb": record_files(selection.vfdb),
        "cudb": record_files(selection.cudb),
    }


# Prefect retries the whole fetch on top of the per-file backoff; partial downloads resume.
@task(retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def fetch_records(
    database: str, files: list[str], raw_dir: str, source: str, retries: int, backoff_s: float
) -> FetchReport:
    dest = Path(raw_dir)
    return fetch_database(
        dest,
        source,
        files,
        packaged_checksums(database),
        retries=retries,
        backoff_s=backoff_s,
        staging_dir=dest.parent.parent / f".staging-{database}",
        partial_dir=dest.parent.parent / ".downloads",
        remote_name=REMOTE_NAMES.get(database, str),
    )


@flow(name="ingest", log_prints=True)
def ingest_flow(params_path: str = "params.yaml") -> list[FetchReport]:
    p = load_params(params_path)
    # every source resolved before any download: a wrong mirror fails at once
    targets = {
        "mitdb": (p.paths.raw_dir, resolve_source(p.data.source_url, database="mitdb")),
        "svdb": (p.paths.svdb_raw_dir, resolve_source(p.data.svdb_source_url, database="svdb")),
        "cinc2017": (
            p.paths.cinc2017_raw_dir,
            resolve_source(p.data.cinc2017_source_url, database="cinc2017"),
        ),
        "vfdb": (p.paths.vfdb_raw_dir, resolve_source(p.data.vfdb_source_url, database="vfdb")),
        "cudb": (p.paths.cudb_raw_dir, resolve_source(p.data.cudb_source_url, database="cudb")),
    }
    files = database_files(RecordSelection.from_params(p.data.subset))
    reports = []
    for database, (raw_dir, source) in targets.items():
        report = fetch_records(
            database,
            files[database],
            raw_dir,
            source,
            p.data.download_retries,
            p.data.retry_backoff_s,
        )
        get_run_logger().info(
            "%s: %d files fetched, %d already present and verified, from %s into %s",
            database,
            len(report.fetched),
            len(report.already_present),
            report.source,
            report.dest,
        )
        reports.append(report)
    return reports


def main(argv: list[str] | None = None) -> int:
    def action(args) -> str:
        return "\n".join(
            f"ingest: {len(r.fetched)} file(s) fetched, "
            f"{len(r.already_present)} already present and verified in {r.dest}"
            for r in ingest_flow(params_path=args.params)
        )

    return run_stage(stage_parser("ingest", __doc__), argv, action)


if __name__ == "__main__":
    raise SystemExit(main())
