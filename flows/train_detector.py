"""Flow `train_detector`: the QRS candidate classifier, fitted on the DS1 records only.

Candidates come from sleepecg on every lead; gradient-boosted trees learn which are beats.
The keep threshold maximises min(Se, +P) on DS1 predictions cross-fitted over two halves
of the DS1 records. Writes the detector as plain arrays and its DS1 figures.
"""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, get_run_logger

from arrhythmia.atomic import write_json
from arrhythmia.config import load_params
from arrhythmia.data.records import DS1
from arrhythmia.detection.training import TreeSettings, fit_detector, labelled_records
from flows.stage_cli import run_stage, stage_parser


def format_table(table: dict[float, tuple[float, float]], chosen: float) -> str:
    lines = ["threshold   Se %   +P %   (DS1, cross-fitted)"]
    for threshold, (se, pp) in table.items():
        mark = "  <- chosen" if threshold == chosen else ""
        lines.append(f"{threshold:9.2f} {100 * se:6.2f} {100 * pp:6.2f}{mark}")
    return "\n".join(lines)


@flow(name="train_detector")
def train_detector_flow(params_path: str = "params.yaml") -> dict:
    p = load_params(params_path)
    data = labelled_records(p.paths.raw_dir, DS1)
    detector, info = fit_detector(data, TreeSettings(**asdict(p.train_detector)))
    detector.save(p.paths.qrs_detector)
    chosen = info["cross_fitted"][info["threshold"]]
    metrics = {
        "threshold": info["threshold"],
        "ds1_cross_fitted_se": chosen[0],
        "ds1_cross_fitted_pp": chosen[1],
        "table": {f"{t:.2f}": {"se": se, "pp": pp} for t, (se, pp) in info["cross_fitted"].items()},
    }
    write_json(p.paths.detector_metrics, metrics)
    get_run_logger().info("\n%s", format_table(info["cross_fitted"], info["threshold"]))
    return info


def main(argv: list[str] | None = None) -> int:
    def action(args) -> str:
        info = train_detector_flow(params_path=args.params)
        return "QRS detector keep threshold:\n" + format_table(
            info["cross_fitted"], info["threshold"]
        )

    return run_stage(stage_parser("train_detector", __doc__), argv, action)


if __name__ == "__main__":
    raise SystemExit(main())
