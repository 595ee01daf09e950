"""Deterministic `.npz` files: the same arrays give the same bytes."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from arrhythmia.atomic import atomic_path

# np.savez stamps every member with the current time; a fixed stamp makes the same arrays
# give the same bytes, so re-running a stage on unchanged data leaves its DVC hash alone.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


def save_npz(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """An .npz that `np.load(allow_pickle=False)` reads, written atomically."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        for key, value in arrays.items():
            member = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_TIMESTAMP)
            with archive.open(member, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)
