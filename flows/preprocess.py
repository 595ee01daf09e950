"""Flow `preprocess`: validated raw records -> the beat dataset (windows, RR features, labels).

Filters (baseline wander, power line, high-frequency noise), normalises amplitude, cuts beat
windows, computes RR features and AAMI labels for DS1 and DS2; prints the class counts.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from arrhythmia.atomic import write_json
from arrhythmia.config import load_params
from arrhythmia.data.beat_dataset import build_beat_dataset, class_counts, save_dataset
from arrhythmia.data.records import DS1, DS2
from flows.stage_cli import run_stage, stage_parser


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
    arrays = build_beat_dataset(Path(p.paths.raw_dir), DS1 + DS2, p.preprocess)
    save_dataset(p.paths.dataset, arrays)
    counts = class_counts(arrays)
    write_json(p.paths.class_counts, counts)
    get_run_logger().info("AAMI class counts per split:\n%s", format_class_counts(counts))
    return counts


def main(argv: list[str] | None = None) -> int:
    def action(args) -> str:
        counts = preprocess_flow(params_path=args.params)
        return "AAMI class counts per split:\n" + format_class_counts(counts)

    return run_stage(stage_parser("preprocess", __doc__), argv, action)


if __name__ == "__main__":
    raise SystemExit(main())
