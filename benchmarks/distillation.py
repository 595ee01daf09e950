"""Would one network, taught by an ensemble, classify beats as well as the ensemble? A proxy
study for issue 20, whose bars the shipped model's 3 folds x 3 seeds of CNNs miss (they
are most of a record's diagnosis time; issue 17's seed spread is why there are so many).
Per patient-wise fold of the development set, the teacher is the mean of the shipped
networks trained without that fold (train.seeds of them); one student CNN, of the members'
architecture (or narrower, --student-widths), learns the teacher's probabilities on the
fold's training beats. Both are scored on the fold's held-out patients.

    python benchmarks/distillation.py [--student-seeds 2] [--student-widths 8 16 32]
        [--out reports/model_selection/distillation.json]

--student-widths gives the students narrower convolutions than the members' (params.yaml
train.widths, the default): fewer operations per beat, hence less CPU time (the networks
are compute-bound). Only the convolutions narrow; the fully connected head is unchanged.

Reads the pipeline's dataset and shipped model (params.yaml paths). The dataset file also
holds DS2's beats; development_set keeps the development beats only, and nothing else is
used. The teacher is optimistic: each member's epoch was early-stopped on the held-out
fold it is scored on (as train's own dev_val figures are), and its row is checked against
metrics/train.json. The student trains for train.max_epochs epochs with no early stopping
(nothing of the held-out fold reaches it but through the teacher's epoch choice), with the
members' augmentation, epoch sampling, noise bank and optimiser, but an unweighted
cross-entropy against the teacher's probabilities instead of their class-weighted focal
loss, from seeds no member used (its initial weights, seeded by seed + fold, may still be
those of a member of another fold, never one of its teacher's). Each model's held-out
output goes through the pipeline's decision layer fitted on it (offsets, cross-fitted;
second stage), as train reports.

Printed per model over all folds' held-out beats: SVEB and VEB Se / +P (EC57 gross, %),
accuracy, the share of beats whose class equals the teacher's; then the time of the
traced, batch-norm-folded networks (as the product runs them) on the same beats, back to
back after each fold's students train, best of 3, summed over folds, in ms per 1 000
beats. The teacher's targets are its probabilities on the unshifted training beats; the
student sees them shifted and scaled, as the members saw their labels.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from arrhythmia.atomic import write_json
from arrhythmia.config import TrainParams, load_params
from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.data.beat_dataset import load_dataset
from arrhythmia.evaluation.ec57 import evaluate_predictions
from arrhythmia.models.bundle import BeatClassifier, ensemble_proba
from arrhythmia.training.ensemble import (
    DevelopmentSet,
    decide,
    development_set,
    member_seeds,
    training_noise_bank,
)
from arrhythmia.training.loop import augment, centre_crop, epoch_order, fold_training
from arrhythmia.training.seeding import epoch_rng, seed_everything

N_CLASSES = len(AAMI_CLASSES)
TRAIN_JSON_TOLERANCE = 0.001  # the teacher's row against metrics/train.json (fractions)
TIMING_REPEATS = 3


def mean_proba(networks: list, beats: np.ndarray, rr: np.ndarray) -> np.ndarray:
    """The networks' mean softmax, no offsets."""
    return ensemble_proba(networks, beats, rr, [0.0] * N_CLASSES)


def train_student(
    dev: DevelopmentSet, train_idx: np.ndarray, targets: np.ndarray, cfg: TrainParams, fold: int
) -> torch.nn.Module:
    """One CNN taught `targets` (the teacher's probabilities) on the beats `train_idx`."""
    training = fold_training(dev.data, train_idx, cfg, fold, N_CLASSES)
    labels = dev.data.labels[train_idx]
    for epoch in tqdm(range(cfg.max_epochs), desc=f"student, fold {fold}", unit="epoch"):
        rng = epoch_rng(cfg.seed, fold, epoch)
        positions = epoch_order(labels, cfg, training.weights, rng)  # into train_idx
        training.model.train()
        for start in range(0, len(positions), cfg.batch_size):
            rows = np.sort(positions[start : start + cfg.batch_size])
            if len(rows) < 2:
                continue  # batch norm needs two samples
            batch = train_idx[rows]
            x = augment(dev.data.beats[batch], cfg, cfg.max_shift, rng, dev.data.noise_bank)
            logits = training.model(torch.from_numpy(x), torch.from_numpy(dev.data.rr[batch]))
            target = torch.from_numpy(targets[rows])
            loss = -(target * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
            training.optimizer.zero_grad()
            loss.backward()
            training.optimizer.step()
        training.scheduler.step()
    return training.model.eval()


def as_run(shipped: BeatClassifier, networks: list) -> list:
    """`networks` (of one architecture) as the product runs them: the bundle's own
    fusing, tracing and freezing."""
    states = [network.state_dict() for network in networks]
    if any(network.config != networks[0].config for network in networks):
        raise ValueError("as_run times networks of one architecture")
    bundle = replace(shipped, config=networks[0].config, state_dicts=states, _models=[], _traced=[])
    return bundle.inference_models()


def best_seconds(networks: list, beats: np.ndarray, rr: np.ndarray) -> float:
    times = []
    for _ in range(TIMING_REPEATS):
        started = time.perf_counter()
        ensemble_proba(networks, beats, rr, [0.0] * N_CLASSES, batch_size=512)
        times.append(time.perf_counter() - started)
    return min(times)


def decided(arrays, proba: np.ndarray, cfg: TrainParams, dev: DevelopmentSet) -> np.ndarray:
    """Classes after the pipeline's decision layer fitted on `proba`, as train reports."""
    return decide(arrays, proba, cfg, dev.fold_of_beat, dev.include).validated.argmax(axis=1)


def figures(labels: np.ndarray, predicted: np.ndarray, teacher_class: np.ndarray) -> dict:
    m = evaluate_predictions(labels, predicted)
    keys = ("sveb_se", "sveb_pp", "veb_se", "veb_pp", "accuracy")
    return {
        **{k: 100 * m[k] for k in keys},
        "same_class_as_teacher": 100 * float(np.mean(predicted == teacher_class)),
    }


def check_teacher(row: dict, train_json: Path) -> None:
    """Stop where the teacher does not reproduce train's figures: then the members, the
    folds or the dataset are not the ones this study assumes."""
    reported = json.loads(train_json.read_text())
    for key in ("sveb_se", "sveb_pp", "veb_se", "veb_pp", "accuracy"):
        if abs(row[key] / 100 - reported[f"dev_val_{key}"]) > TRAIN_JSON_TOLERANCE:
            raise SystemExit(
                f"the teacher's {key} {row[key]:.2f} is not {train_json}'s dev_val_{key} "
                f"({100 * reported[f'dev_val_{key}']:.2f}): run `dvc repro train` first"
            )


def teachers(members: list, cfg: TrainParams, fold: int) -> list:
    return [members[s * cfg.folds + fold] for s in range(cfg.seeds)]  # seed-major order


def student_outputs(
    dev, shipped, teacher, cfg: TrainParams, student_seeds: int, fold: int, beats
) -> dict:
    """Each student's held-out probabilities for `fold`, and the time of the teacher and of
    one student on those beats."""
    train_idx = np.flatnonzero(dev.fold_of_beat != fold)
    val_idx = np.flatnonzero(dev.fold_of_beat == fold)
    val_beats, val_rr = beats[val_idx], dev.data.rr[val_idx]
    targets = mean_proba(teacher, beats[train_idx], dev.data.rr[train_idx])
    out, students = {}, []
    # seeds no member used (seed + fold may still equal a member's of another fold)
    for k, seed in enumerate(member_seeds(cfg.seed + 1, student_seeds)):
        students.append(train_student(dev, train_idx, targets, replace(cfg, seed=seed), fold))
        out[f"student {k}"] = mean_proba([students[-1]], val_beats, val_rr)
    seconds = {
        "teacher": best_seconds(as_run(shipped, teacher), val_beats, val_rr),
        "student": best_seconds(as_run(shipped, students[:1]), val_beats, val_rr),
    }
    return {"proba": out, "seconds": seconds}


def study(student_seeds: int, student_widths: list[int] | None) -> dict:
    p = load_params()
    cfg = p.train
    student_cfg = replace(cfg, widths=list(student_widths or cfg.widths))
    seed_everything(cfg.seed, cfg.threads)
    arrays = load_dataset(p.paths.dataset)
    dev = development_set(arrays, cfg)
    cropped = dev.data.beats.shape[-1] - 2 * cfg.max_shift
    bank = training_noise_bank(cfg, p.preprocess, float(arrays["fs"]), cropped)
    dev = replace(dev, data=replace(dev.data, noise_bank=bank))
    shipped = BeatClassifier.load(p.paths.model)
    members = shipped.models()
    if len(members) != cfg.folds * cfg.seeds:
        raise SystemExit(
            f"the shipped model has {len(members)} members, params say {cfg.folds} folds x "
            f"{cfg.seeds} seeds: run dvc repro train first"
        )
    beats = centre_crop(dev.data.beats, cfg.max_shift)
    held_out = {"teacher": np.zeros((len(dev.labels), N_CLASSES), np.float32)}
    for fold in range(cfg.folds):  # the teacher first: checked before any student trains
        rows = dev.fold_of_beat == fold
        held_out["teacher"][rows] = mean_proba(
            teachers(members, cfg, fold), beats[rows], dev.data.rr[rows]
        )
    classes = {"teacher": decided(arrays, held_out["teacher"], cfg, dev)}
    check_teacher(
        figures(dev.labels, classes["teacher"], classes["teacher"]), Path(p.paths.train_metrics)
    )
    seconds = {"teacher": 0.0, "student": 0.0}
    for k in range(student_seeds):
        held_out[f"student {k}"] = np.zeros_like(held_out["teacher"])
    for fold in range(cfg.folds):
        teacher = teachers(members, cfg, fold)
        result = student_outputs(dev, shipped, teacher, student_cfg, student_seeds, fold, beats)
        for name, proba in result["proba"].items():
            held_out[name][dev.fold_of_beat == fold] = proba
        seconds = {k: v + result["seconds"][k] for k, v in seconds.items()}
    for name in held_out:
        if name != "teacher":
            classes[name] = decided(arrays, held_out[name], cfg, dev)
    rows = {n: figures(dev.labels, c, classes["teacher"]) for n, c in classes.items()}
    per_1000 = {k: 1e6 * v / len(dev.labels) for k, v in seconds.items()}
    return {
        "rows": rows,
        "cnn_ms_per_1000_beats": per_1000,
        "networks_per_teacher": cfg.seeds,
        "student_widths": student_cfg.widths,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student-seeds", type=int, default=2, help="students per fold")
    parser.add_argument(
        "--student-widths",
        type=int,
        nargs="+",
        default=None,
        help="the students' convolution widths (default: the members', train.widths)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("reports/model_selection/distillation.json")
    )
    args = parser.parse_args()
    if args.student_widths and min(args.student_widths) < 1:
        parser.error("--student-widths must be positive")
    result = study(args.student_seeds, args.student_widths)
    write_json(args.out, result)
    print("Held-out patients of the development set's folds (EC57 gross, %); each model")
    print("through its own decision layer; the teacher's epochs were chosen on these patients:")
    print("| model | SVEB Se / +P | VEB Se / +P | accuracy | class = teacher's |")
    print("|:--|--:|--:|--:|--:|")
    for name, r in result["rows"].items():
        print(
            f"| {name} | {r['sveb_se']:.1f} / {r['sveb_pp']:.1f} | {r['veb_se']:.1f} / "
            f"{r['veb_pp']:.1f} | {r['accuracy']:.2f} | {r['same_class_as_teacher']:.2f} |"
        )
    t = result["cnn_ms_per_1000_beats"]
    print(
        f"\nCNN time per 1 000 beats (traced, this machine, whatever else runs): teacher "
        f"({result['networks_per_teacher']} networks) {t['teacher']:.0f} ms, student "
        f"(1 network, widths {result['student_widths']}) {t['student']:.0f} ms"
    )
    print(f"({args.out})")


if __name__ == "__main__":
    main()
