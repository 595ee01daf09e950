"""What the train stage reports of a trained ensemble: its metrics, its per-step curves and
the files beside the model (metrics JSON, history CSV, curves PNG, folds JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from arrhythmia.atomic import write_json
from arrhythmia.evaluation.ec57 import flatten_metrics, write_metrics_json
from arrhythmia.evaluation.plots import plot_training_curves, write_csv
from arrhythmia.models.bundle import BeatClassifier
from arrhythmia.models.cnn import model_size_bytes, parameter_count
from arrhythmia.training.ensemble import TrainingReport, checkpoint_name


def training_metrics(
    classifier: BeatClassifier,
    report: TrainingReport,
    training_sets: Sequence[str],
    train_seconds: float,
    epoch_choice: str = "best",
) -> dict:
    """The development set's out-of-fold figures, the ensemble's size and the time taken."""
    models = classifier.models()
    return {
        "dev_val_score": report.val_score,
        "dev_val_score_untuned": report.val_score_untuned,
        **flatten_metrics(report.val_metrics, "dev_val"),
        "n_parameters_per_model": parameter_count(models[0]),
        "n_models": len(models),
        "model_size_bytes": sum(model_size_bytes(m) for m in models),
        "best_epochs": report.best_epochs,  # the epochs kept (the best, or the last)
        "epoch_choice": epoch_choice,
        "training_sets": list(training_sets),
        "train_seconds": round(train_seconds, 1),
    }


def decision_offsets(classifier: BeatClassifier) -> dict[str, float]:
    """The offsets tuned on the development set's out-of-fold output, as run params:
    per-class CNN offsets and the second stage's, when there is one."""
    pairs = zip(classifier.classes, classifier.logit_bias, strict=True)
    offsets = {f"cnn_offset_{c}": b for c, b in pairs}
    if classifier.second_stage is not None:
        offsets["second_stage_offset"] = classifier.second_stage["offset"]
    if classifier.ventricular_stage is not None:
        offsets["ventricular_stage_offset"] = classifier.ventricular_stage["offset"]
    return offsets


def step_metrics(history: Sequence[dict]) -> list[tuple[dict[str, float], int]]:
    """(metrics, step) pairs of the training curves, in logging order: each network's losses
    and score at its epoch (named after its checkpoint), and every epoch's validation
    score on one axis of steps over all the networks."""
    steps = []
    for i, row in enumerate(history):
        name = checkpoint_name(row["member"], row["fold"]).removesuffix(".pt")
        per_network = {f"{name}_{k}": row[k] for k in ("train_loss", "val_loss", "val_score")}
        steps.append((per_network, row["epoch"]))
        steps.append(({"val_score_by_step": row["val_score"]}, i + 1))
    return steps


def write_training_reports(
    metrics_path: str | Path, metrics: dict, report: TrainingReport, reports_dir: Path
) -> list[Path]:
    """Write the stage's metrics and reports; their paths, in the order the run logs them."""
    write_metrics_json(metrics_path, metrics)
    history = [{"step": i + 1, **row} for i, row in enumerate(report.history)]
    history_csv = write_csv(reports_dir / "history.csv", history)
    curves_png = plot_training_curves(report.history, reports_dir / "training_curves.png")
    write_json(reports_dir / "folds.json", report.folds)
    return [Path(metrics_path), history_csv, curves_png, reports_dir / "folds.json"]


def training_summary(metrics: dict, report: TrainingReport, train_seconds: float) -> str:
    """The log line of a finished training."""
    val = report.val_metrics
    return (
        f"trained {metrics['n_models']} CNNs, one per fold and seed "
        f"({metrics['n_parameters_per_model']} "
        f"parameters each) in {train_seconds:.0f} s; validation score {report.val_score:.3f} "
        f"(SVEB Se {val['sveb_se']:.3f} +P {val['sveb_pp']:.3f}, "
        f"VEB Se {val['veb_se']:.3f} +P {val['veb_pp']:.3f})"
    )
