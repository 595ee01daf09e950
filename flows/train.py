"""Flow `train`: the CNN ensemble on the development set (params.yaml train.training_sets: DS1
and the SVDB records, or DS1 alone; patient-wise folds), tracked in MLflow.

One model per fold is trained on the other folds, early-stopped and selected on its
held-out records; the shipped model averages them. Checkpoints after every epoch (--resume
continues an interrupted run exactly). DS2 is never read.

The run logs two MLflow models: `model`, the whole diagnosis (raw ECG in: this classifier
with the pipeline's QRS detector), and `beat_model`, the classifier alone on dataset-format
beats (research).
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, get_run_logger

from arrhythmia.atomic import write_json
from arrhythmia.config import load_params, load_raw_params
from arrhythmia.data.beat_dataset import load_dataset
from flows.stage_cli import run_stage, stage_parser
from flows.tracking import activate_tracking, git_commit

DATASET_NAME = "development-beats"
EXAMPLE_RECORD = "101"  # a DS1 record: its first seconds are the served model's input example


@flow(name="train")
def train_flow(params_path: str = "params.yaml", resume: bool = False) -> dict:
    import mlflow

    from arrhythmia.data.readers import read_record
    from arrhythmia.evaluation.ec57 import flatten_metrics, write_metrics_json
    from arrhythmia.evaluation.plots import plot_training_curves, write_csv
    from arrhythmia.inference.diagnosis_pyfunc import log_diagnosis_model
    from arrhythmia.inference.pyfunc import log_beat_classifier
    from arrhythmia.models.cnn import model_size_bytes, parameter_count
    from arrhythmia.signal.ecg import primary_lead_first
    from arrhythmia.tracking.mlflow_setup import file_md5, flatten_params
    from arrhythmia.training.ensemble import checkpoint_name, development_beats, train_ensemble

    logger = get_run_logger()
    p = load_params(params_path)
    paths = p.paths
    arrays = load_dataset(paths.dataset)
    reports = Path(paths.train_reports)

    started = time.monotonic()
    classifier, report = train_ensemble(
        arrays, p.train, p.preprocess, Path(paths.checkpoints), resume=resume
    )
    train_seconds = time.monotonic() - started
    classifier.save(paths.model)

    models = classifier.models()
    size = {
        "n_parameters_per_model": parameter_count(models[0]),
        "n_models": len(models),
        "model_size_bytes": sum(model_size_bytes(m) for m in models),
    }
    metrics = {
        "dev_val_score": report.val_score,
        "dev_val_score_untuned": report.val_score_untuned,
        **flatten_metrics(report.val_metrics, "dev_val"),
        **size,
        "best_epochs": report.best_epochs,
        "training_sets": list(p.train.training_sets),
        "train_seconds": round(train_seconds, 1),
    }
    write_metrics_json(paths.train_metrics, metrics)
    history_csv = write_csv(
        reports / "history.csv", [{"step": i + 1, **row} for i, row in enumerate(report.history)]
    )
    curves_png = plot_training_curves(report.history, reports / "training_curves.png")
    write_json(reports / "folds.json", report.folds)

    activate_tracking()
    dataset_md5 = file_md5(paths.dataset)
    dev = development_beats(arrays, p.train)
    training_set = mlflow.data.from_numpy(
        {"windows": arrays["windows"][dev], "rr": arrays["rr"][dev]},
        targets=arrays["label"][dev],
        source=str(Path(paths.dataset).resolve()),
        name=DATASET_NAME,
        digest=dataset_md5,  # DVC's hash of the file: the same version dvc.lock names
    )
    with mlflow.start_run(run_name=f"cnn-{time.strftime('%Y%m%d-%H%M%S')}") as run:
        mlflow.log_params(flatten_params(load_raw_params(params_path)))
        mlflow.log_params(decision_offsets(classifier))
        mlflow.log_input(training_set, context="training")
        mlflow.set_tags(
            {
                "git_commit": git_commit() or "unknown",
                "dataset_dvc_md5": dataset_md5,
                "validation": "patient-wise folds inside " + "+".join(p.train.training_sets),
            }  # fmt: skip
        )
        for i, row in enumerate(report.history):
            name = checkpoint_name(row["member"], row["fold"]).removesuffix(".pt")
            mlflow.log_metrics(
                {f"{name}_{k}": row[k] for k in ("train_loss", "val_loss", "val_score")},
                step=row["epoch"],
            )
            mlflow.log_metric("val_score_by_step", row["val_score"], step=i + 1)
        mlflow.log_metrics({k: v for k, v in metrics.items() if isinstance(v, int | float)})
        for artifact in (paths.train_metrics, history_csv, curves_png, reports / "folds.json"):
            mlflow.log_artifact(str(artifact), artifact_path="train")
        example = primary_lead_first(read_record(Path(paths.raw_dir) / EXAMPLE_RECORD))
        model_info = log_diagnosis_model(
            paths.model, paths.qrs_detector, example.signal, example.fs, example.leads
        )
        beats_example = {"windows": arrays["windows"][:8], "rr": arrays["rr"][:8]}
        beat_model_info = log_beat_classifier(paths.model, beats_example, name="beat_model")
        write_json(
            paths.mlflow_run,
            {
                "run_id": run.info.run_id,
                "experiment_id": run.info.experiment_id,
                "model_uri": model_info.model_uri,
                "beat_model_uri": beat_model_info.model_uri,
            },  # fmt: skip
        )
    logger.info(
        "trained %d fold models (%d parameters each) in %.0f s; validation score %.3f "
        "(SVEB Se %.3f +P %.3f, VEB Se %.3f +P %.3f)",
        size["n_models"], size["n_parameters_per_model"], train_seconds, report.val_score,
        report.val_metrics["sveb_se"], report.val_metrics["sveb_pp"],
        report.val_metrics["veb_se"], report.val_metrics["veb_pp"],
    )  # fmt: skip
    return metrics


def decision_offsets(classifier) -> dict[str, float]:
    """The offsets tuned on the development set's out-of-fold output, as run params:
    per-class CNN offsets and the second stage's, when there is one."""
    offsets = {f"cnn_offset_{c}": b for c, b in zip(classifier.classes, classifier.logit_bias,
                                                    strict=True)}  # fmt: skip
    if classifier.second_stage is not None:
        offsets["second_stage_offset"] = classifier.second_stage["offset"]
    return offsets


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
