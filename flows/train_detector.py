"""Flow `train_detector`: the QRS candidate classifier, fitted on the DS1 records only.

Candidates come from sleepecg on every lead; gradient-boosted trees learn which are beats.
The trees also see noisy copies of the records. The keep threshold maximises min(Se, +P) on
DS1 predictions cross-fitted over two halves of the DS1 records, pooled over the clean
records and other noisy copies. Writes the detector as plain arrays and its DS1 figures.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from arrhythmia.atomic import write_json
from arrhythmia.config import load_params
from arrhythmia.data.records import RecordSelection
from arrhythmia.detection.training import (
    NoiseSettings,
    TreeSettings,
    fit_detector,
    labelled_records,
)
from flows.stage_cli import run_stage, stage_parser


def format_table(info: dict) -> str:
    lines = [
        "DS1, cross-fitted:  clean and noisy copies  |  clean records",
        "threshold   Se %   +P %  |   Se %   +P %",
    ]
    for threshold, (se, pp) in info["cross_fitted"].items():
        clean_se, clean_pp = info["clean"][threshold]
        mark = "  <- chosen" if threshold == info["threshold"] else ""
        lines.append(
            f"{threshold:9.2f} {100 * se:6.2f} {100 * pp:6.2f}  | {100 * clean_se:6.2f} "
            f"{100 * clean_pp:6.2f}{mark}"
        )
    return "\n".join(lines)


@flow(name="train_detector")
def train_detector_flow(params_path: str = "params.yaml") -> dict:
    p = load_params(params_path)
    noise = NoiseSettings.from_params(p.train_detector)
    ds1 = RecordSelection.from_params(p.data.subset).ds1
    data = labelled_records(p.paths.raw_dir, ds1, noise=noise)
    detector, info = fit_detector(data, TreeSettings.from_params(p.train_detector))
    detector.save(p.paths.qrs_detector)
    pooled, clean = info["cross_fitted"][info["threshold"]], info["clean"][info["threshold"]]
    metrics = {
        "threshold": info["threshold"],
        "ds1_cross_fitted_se": pooled[0],
        "ds1_cross_fitted_pp": pooled[1],
        "ds1_clean_cross_fitted_se": clean[0],
        "ds1_clean_cross_fitted_pp": clean[1],
        "noise_snr_db": list(noise.snr_db),
        "table": {
            f"{t:.2f}": {
                "se": se,
                "pp": pp,
                "clean_se": info["clean"][t][0],
                "clean_pp": info["clean"][t][1],
            }
            for t, (se, pp) in info["cross_fitted"].items()
        },
    }
    write_json(p.paths.detector_metrics, metrics)
    get_run_logger().info("\n%s", format_table(info))
    return info


def main(argv: list[str] | None = None) -> int:
    def action(args) -> str:
        info = train_detector_flow(params_path=args.params)
        return "QRS detector keep threshold:\n" + format_table(info)

    return run_stage(stage_parser("train_detector", __doc__), argv, action)


if __name__ == "__main__":
    raise SystemExit(main())
