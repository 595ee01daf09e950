"""Flow `validate_raw`: the Great Expectations gate on the raw records (MITDB, SVDB, VFDB and
CUDB) and the CinC 2017 strips.

A failed expectation exits non-zero with a readable summary; the HTML report (GX Data Docs)
goes under reports/validation/raw. A pass writes a small deterministic record (what was
checked, the input hashes) that the preprocess stage depends on.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from arrhythmia.config import load_params
from arrhythmia.data.records import RecordSelection, record_files
from arrhythmia.validation.gx_runner import ValidationOutcome
from arrhythmia.validation.receipt import input_digests, write_receipt
from flows.stage_cli import run_stage, stage_parser
from flows.validation_gate import gate


@flow(name="validate-raw")
def validate_raw_flow(params_path: str = "params.yaml") -> ValidationOutcome:
    from arrhythmia.validation.raw import (
        CUDB_RAW,
        MITDB_RAW,
        SVDB_RAW,
        VFDB_RAW,
        validate_raw_databases,
    )
    from arrhythmia.validation.strips import strip_suite

    params = load_params(params_path)
    p, chosen = params.paths, RecordSelection.from_params(params.data.subset)
    named = {  # database -> (folder, records, facts); the name keys the receipt's digests
        "mitdb": (Path(p.raw_dir), chosen.mitdb, MITDB_RAW),
        "svdb": (Path(p.svdb_raw_dir), chosen.svdb, SVDB_RAW),
        "vfdb": (Path(p.vfdb_raw_dir), chosen.vfdb, VFDB_RAW),
        "cudb": (Path(p.cudb_raw_dir), chosen.cudb, CUDB_RAW),
    }
    databases = list(named.values())
    report_dir = Path(p.validation_reports) / "raw"
    Path(p.raw_passed).unlink(missing_ok=True)  # a failed run must not leave an old pass
    strip_labels = chosen.cinc2017_labels()
    strips = strip_suite(p.cinc2017_raw_dir, strip_labels)
    outcome = gate(validate_raw_databases(databases, report_dir, extra_suites=[strips]))
    # digests keyed by database and file name (mitdb/100.hea, svdb/800.hea), wherever the
    # folders are, so the record is the same bytes on every machine
    inputs = {
        f"{database}/{name}": digest
        for database, (raw_dir, records, _) in named.items()
        for name, digest in input_digests(
            [raw_dir / f for f in record_files(records)], raw_dir
        ).items()
    }
    strip_dir = Path(p.cinc2017_raw_dir)
    strip_files = [strip_dir / name for name in chosen.cinc2017_files()]
    inputs |= {f"cinc2017/{n}": d for n, d in input_digests(strip_files, strip_dir).items()}
    write_receipt(p.raw_passed, outcome, inputs)
    return outcome


def main(argv: list[str] | None = None) -> int:
    def action(args) -> str:
        return validate_raw_flow(params_path=args.params).summary()

    return run_stage(stage_parser("validate_raw", __doc__), argv, action)


if __name__ == "__main__":
    raise SystemExit(main())
