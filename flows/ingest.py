"""Flow `ingest`: MITDB records from PhysioNet (or a local mirror) into data/raw, verified.

Source: PhysioNet over HTTPS, or the local folder named by ARRHYTHMIA_MITDB_MIRROR. Every
file is checked against PhysioNet's SHA256SUMS; files already present and verified are not
fetched again.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from arrhythmia.config import load_params
from arrhythmia.data.fetch import FetchReport, fetch_mitdb, packaged_checksums, resolve_source
from arrhythmia.data.records import ALL_RECORDS, record_files
from flows.stage_cli import run_stage, stage_parser


# Prefect retries the whole fetch on top of the per-file backoff; partial downloads resume.
@task(retries=2, retry_delay_seconds=10, cache_policy=NO_CACHE)
def fetch_records(raw_dir: str, source: str, retries: int, backoff_s: float) -> FetchReport:
    dest = Path(raw_dir)
    return fetch_mitdb(
        dest,
        source,
        record_files(ALL_RECORDS),
        packaged_checksums(),
        retries=retries,
        backoff_s=backoff_s,
        staging_dir=dest.parent.parent / ".staging-mitdb",
        partial_dir=dest.parent.parent / ".downloads",
    )


@flow(name="ingest", log_prints=True)
def ingest_flow(params_path: str = "params.yaml") -> FetchReport:
    p = load_params(params_path)
    source = resolve_source(p.data.source_url)
    report = fetch_records(p.paths.raw_dir, source, p.data.download_retries, p.data.retry_backoff_s)
    get_run_logger().info(
        "%d files fetched, %d already present and verified, from %s into %s",
        len(report.fetched),
        len(report.already_present),
        report.source,
        report.dest,
    )
    return report


def main(argv: list[str] | None = None) -> int:
    def action(args) -> str:
        report = ingest_flow(params_path=args.params)
        return (
            f"ingest: {len(report.fetched)} file(s) fetched, "
            f"{len(report.already_present)} already present and verified in {report.dest}"
        )

    return run_stage(stage_parser("ingest", __doc__), argv, action)


if __name__ == "__main__":
    raise SystemExit(main())
