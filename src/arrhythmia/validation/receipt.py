"""The record of a passed validation that later stages depend on.

The GX Data Docs hold timestamps and timings, so they change on every run; this record
holds only what derives from the content (what was checked, the input hashes, the
verdict), written with sorted keys: re-validating unchanged data gives the same bytes, and
DVC leaves everything downstream up to date.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from arrhythmia.atomic import write_json
from arrhythmia.data.fetch import sha256_of
from arrhythmia.validation.gx_runner import ValidationOutcome


def input_digests(files: Iterable[Path], root: Path) -> dict[str, str]:
    """{path relative to `root`, POSIX style: sha256} for every file, sorted by path."""
    return {Path(f).relative_to(root).as_posix(): sha256_of(Path(f)) for f in sorted(files)}


def validation_receipt(outcome: ValidationOutcome, inputs: dict[str, str]) -> dict:
    return {
        "validation": outcome.name,
        "passed": outcome.success,
        "expectations_evaluated": outcome.evaluated,
        "expectations_failed": outcome.failed,
        "checks": sorted(outcome.checks),
        "tables": dict(outcome.tables),
        "inputs_sha256": inputs,
    }


def write_receipt(path: str | Path, outcome: ValidationOutcome, inputs: dict[str, str]) -> None:
    write_json(path, validation_receipt(outcome, inputs), sort_keys=True)
