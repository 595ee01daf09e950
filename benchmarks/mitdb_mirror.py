"""Where the benchmarks read MITDB: the folder given, else ARRHYTHMIA_MITDB_MIRROR, else
../shared/data/mitdb beside the project (as CI lays it out)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def mitdb_mirror(given: str | None = None) -> Path:
    configured = given or os.environ.get("ARRHYTHMIA_MITDB_MIRROR")
    return Path(configured) if configured else ROOT.parent / "shared" / "data" / "mitdb"
