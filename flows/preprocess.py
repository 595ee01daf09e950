"""Flow `preprocess`: validated raw records -> the beat dataset (windows, RR features, labels)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from arrhythmia.atomic import write_json
from arrhythmia.config import load_params
from arrhythmia.data.beat_dataset import (
    DATASET_FILE,
    build_beat_dataset,
    class_counts,
    save_dataset,
)
from arrhythmia.data.records import DS1, DS2

CLASS_COUNTS_PATH = Path("metrics/class_counts.json")


def format_class_counts(counts: dict[str, dict[str, int]]) -> str:
    classes = list(next(iter(counts.values())))
    lines = ["split " + " ".join(f"{c:>7}" for c in classes) + "   total"]
    for split, row in counts.items():
        cells = " ".join(f"{row[c]:>7}" for c in classes)
        lines.append(f"{split:<5} {cells} {sum(row.values()):>7}")
    return "\n".join(lines)


@flow(name="preprocess")
def preprocess_flow(params_path: str = "params.yaml") -> dict[str, dict[str, int]]:
    p = load_params(params_path)
    arrays = build_beat_dataset(Path(p.data.raw_dir), DS1 + DS2, p.preprocess)
    save_dataset(Path(p.preprocess.out_dir) / DATASET_FILE, arrays)
    counts = class_counts(arrays)
    write_json(CLASS_COUNTS_PATH, counts)
    get_run_logger().info("AAMI class counts per split:\n%s", format_class_counts(counts))
    return counts
