"""Flow `train`: the CNN ensemble on the development set (params.yaml train.training_sets: DS1
and the SVDB records, or DS1 alone; patient-wise folds), tracked in MLflow.

One model per fold is trained on the other folds, early-stopped and selected on its
held-out records (or kept at its last epoch: train.epoch_choice); the shipped model averages
them. Checkpoints after every epoch (--resume
continues an interrupted run exactly). DS2 is never read. Then, with `strip_af.enabled`,
the AF call of short strips is fitted on the CinC 2017 strips (diagnosed with this
classifier and the pipeline's QRS detector) and saved in the same bundle; with
`ventricular.enabled`, so are the trees that say where VT or VF is, fitted on DS1, VFDB and
CUDB (record-wise out-of-fold figures in metrics/train.json).

The run logs two MLflow models: `model`, the whole diagnosis (raw ECG in: this classifier
with the pipeline's QRS detector), and `beat_model`, the classifier alone on dataset-format
beats (research).
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, get_run_logger

from arrhythmia.atomic import write_json
from arrhythmia.config import ConfigError, load_raw_params, params_from_dict
from arrhythmia.data.beat_dataset import load_dataset
from arrhythmia.data.records import RecordSelection
from flows.stage_cli import run_stage, stage_parser
from flows.tracking import activate_tracking, git_commit

EXAMPLE_RECORD = "101"  # a DS1 record: its first seconds are the served model's input example


@flow(name="train")
def train_flow(params_path: str = "params.yaml", resume: bool = False) -> dict:
    from arrhythmia.tracking.run_logging import TrainingRun, log_training_run
    from arrhythmia.training.ensemble import development_beats, train_ensemble
    from arrhythmia.training.reports import (
        decision_offsets,
        step_metrics,
        training_metrics,
        training_summary,
        write_training_reports,
    )

    raw_params = load_raw_params(params_path)  # read once: typed here, logged as read
    p = params_from_dict(raw_params)
    paths = p.paths
    if EXAMPLE_RECORD not in RecordSelection.from_params(p.data.subset).ds1:  # before the hours
        raise ConfigError(f"data.subset.ds1 in {params_path} must keep {EXAMPLE_RECORD}, the "
                          "served model's input example")  # fmt: skip
    arrays = load_dataset(paths.dataset)

    started = time.monotonic()
    classifier, report = train_ensemble(
        arrays, p.train, p.preprocess, Path(paths.checkpoints), resume=resume
    )
    train_seconds = time.monotonic() - started
    strip_metrics = {}
    rhythm_metrics = {}
    if p.strip_af.enabled:
        classifier.strip_af, strip_metrics = train_strip_af(classifier, p)
        rhythm_metrics.update(strip_metrics)
    if p.ventricular.enabled:
        classifier.ventricular, ventricular_metrics = train_ventricular(classifier, p)
        rhythm_metrics.update(ventricular_metrics)
    classifier.save(paths.model)
    metrics = training_metrics(
        classifier, report, p.train.training_sets, train_seconds, p.train.epoch_choice
    )
    metrics.update(rhythm_metrics)
    files = write_training_reports(paths.train_metrics, metrics, report, Path(paths.train_reports))

    activate_tracking()
    run = TrainingRun(
        raw_params=raw_params,
        decision_offsets=decision_offsets(classifier),
        dataset_path=Path(paths.dataset),
        arrays=arrays,
        development=development_beats(arrays, p.train),
        training_sets=p.train.training_sets,
        steps=step_metrics(report.history),
        metrics=metrics,
        files=files,
        git_commit=git_commit(),
    )
    write_json(paths.mlflow_run, log_training_run(run, lambda: log_models(paths, arrays)))
    get_run_logger().info("%s", training_summary(metrics, report, train_seconds))
    return metrics


def train_strip_af(classifier, p) -> tuple[dict, dict]:
    """The learnt strip AF call, fitted on the CinC strips with this classifier's classes,
    as the bundle holds it, and its cross-validated figures."""
    from arrhythmia.training.strip_af import fit_after_classifier

    model, metrics = fit_after_classifier(classifier, p.paths, p.data.subset, p.strip_af)
    get_run_logger().info(
        "strip AF call: F1 %.3f out of fold over %d strips (%d AF)",
        metrics["strip_af_f1_cv"],
        metrics["strip_af_strips"],
        metrics["strip_af_af_strips"],
    )
    return model.to_dict(), metrics


def train_ventricular(classifier, p) -> tuple[dict, dict]:
    """The learnt presence of VT and VF, fitted on DS1, VFDB and CUDB with this classifier's
    classes (and strip AF call), as the bundle holds it, and its out-of-fold figures."""
    from arrhythmia.detection.model import QrsDetector
    from arrhythmia.inference.model_handle import classifier_handle
    from arrhythmia.training.ventricular import fit_ventricular, record_windows

    handle = classifier_handle(classifier, p.paths.model)
    selection = RecordSelection.from_params(p.data.subset)
    records = {
        "mitdb": (Path(p.paths.raw_dir), list(selection.ds1)),
        "vfdb": (Path(p.paths.vfdb_raw_dir), list(selection.vfdb)),
        "cudb": (Path(p.paths.cudb_raw_dir), list(selection.cudb)),
    }
    windows = record_windows(records, handle, QrsDetector.load(p.paths.qrs_detector))
    model, metrics = fit_ventricular(windows, handle, p.ventricular)
    get_run_logger().info(
        "VT/VF presence: %d windows of %d records (%d VT or VF); out of fold, VFDB VT-or-VF "
        "duration Se %.3f +P %.3f",
        metrics["vtvf_windows"],
        metrics["vtvf_records"],
        metrics["vtvf_present_windows"],
        metrics.get("vtvf_cv_vfdb_vt_or_vf_duration_se", float("nan")),
        metrics.get("vtvf_cv_vfdb_vt_or_vf_duration_ppv", float("nan")),
    )
    return model.to_dict(), metrics


def log_models(paths, arrays) -> dict[str, str]:
    """The run's two models (inside the active run): `model`, the whole diagnosis with
    a DS1 record's first seconds as its input example, and `beat_model`, the classifier
    alone on dataset-format beats."""
    from arrhythmia.data.readers import read_record
    from arrhythmia.inference.diagnosis_pyfunc import log_diagnosis_model
    from arrhythmia.inference.pyfunc import log_beat_classifier
    from arrhythmia.signal.ecg import primary_lead_first

    example = primary_lead_first(read_record(Path(paths.raw_dir) / EXAMPLE_RECORD))
    model_info = log_diagnosis_model(
        paths.model, paths.qrs_detector, example.signal, example.fs, example.leads
    )
    beats_example = {"windows": arrays["windows"][:8], "rr": arrays["rr"][:8]}
    beat_model_info = log_beat_classifier(paths.model, beats_example, name="beat_model")
    return {"model_uri": model_info.model_uri, "beat_model_uri": beat_model_info.model_uri}


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser("train", __doc__)
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted run from its checkpoints"
    )

    def action(args) -> str:
        m = train_flow(params_path=args.params, resume=args.resume)
        return (
            f"train: development-set validation score {m['dev_val_score']:.3f} "
            f"(SVEB Se {m['dev_val_sveb_se']:.3f} +P {m['dev_val_sveb_pp']:.3f}, "
            f"VEB Se {m['dev_val_veb_se']:.3f} +P {m['dev_val_veb_pp']:.3f})"
        )

    return run_stage(parser, argv, action)


if __name__ == "__main__":
    raise SystemExit(main())
