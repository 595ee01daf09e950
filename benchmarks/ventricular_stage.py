"""What the ventricular stage (train.ventricular_stage) does on the development set, out of
fold: the decision layer with and without it, over the same out-of-fold network output
(the train stage's checkpoints, so run `dvc repro train` first), pooled and per fold; and
how many true and false V calls have no look-alike among their record's other V calls.
DS2 is not read.

    python benchmarks/ventricular_stage.py [--params params.yaml]
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from arrhythmia.config import load_params
from arrhythmia.data.beat_dataset import load_dataset
from arrhythmia.evaluation.ec57 import evaluate_predictions
from arrhythmia.models.ventricular_stage import morphology_support
from arrhythmia.training import ensemble
from arrhythmia.training.loop import params_fingerprint, validation_score

N, S, V = 0, 1, 2


def out_of_fold_output(arrays, cfg, preprocess, checkpoints: Path):
    """The development set and its networks' out-of-fold probabilities, from the checkpoints
    (a missing or stale checkpoint stops with the train stage's own message)."""
    dev = ensemble.development_set(arrays, cfg)
    cropped = dev.data.beats.shape[-1] - 2 * cfg.max_shift
    bank = ensemble.training_noise_bank(cfg, preprocess, float(arrays["fs"]), cropped)
    dev = replace(dev, data=replace(dev.data, noise_bank=bank))
    extra = {"n_beats": int(len(dev.labels)), "preprocess": asdict(preprocess)}
    members = ensemble.train_members(
        dev, cfg, checkpoints, params_fingerprint(cfg, extra), resume=True, progress=False
    )
    return dev, members.oof_proba


def row(name: str, labels: np.ndarray, predicted: np.ndarray) -> str:
    m = evaluate_predictions(labels, predicted)
    figures = [100 * validation_score(labels, predicted)]
    figures += [100 * m[k] for k in ("veb_se", "veb_pp", "sveb_se", "sveb_pp")]
    return f"| {name} | " + " | ".join(f"{x:.1f}" for x in figures) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    p = load_params(args.params)
    arrays = load_dataset(p.paths.dataset)
    dev, oof = out_of_fold_output(arrays, p.train, p.preprocess, Path(p.paths.checkpoints))
    predicted = {}
    for setting in ("none", "support"):
        cfg = replace(p.train, ventricular_stage=setting)
        decision = ensemble.decide(arrays, oof, cfg, dev.fold_of_beat, dev.include)
        predicted[setting] = decision.validated.argmax(axis=1)
        if decision.ventricular_stage is not None:
            print(f"ventricular stage offset: {decision.ventricular_stage.offset:+.2f}")

    print("\n| development set, out of fold | score | VEB Se | VEB +P | SVEB Se | SVEB +P |")
    print("|:--|--:|--:|--:|--:|--:|")
    for fold in [None, *np.unique(dev.fold_of_beat)]:
        rows = np.ones(len(dev.labels), bool) if fold is None else dev.fold_of_beat == fold
        where = "all folds" if fold is None else f"fold {fold}"
        for setting, labels in predicted.items():
            print(row(f"{where}, ventricular_stage={setting}", dev.labels[rows], labels[rows]))

    # look-alikes of the V calls the stage decides on (those of the decision without it)
    called_v = predicted["none"] == V
    dev_rows = ensemble.development_beats(arrays, p.train)
    support = morphology_support(
        arrays["windows"][dev_rows], dev.records, called_v, float(arrays["fs"]),
        int(arrays["window_pre"]),
    )  # fmt: skip
    print("\n| V calls without the stage | count | with no look-alike |")
    print("|:--|--:|--:|")
    for name, truth in (("true (reference V)", dev.labels == V),
                        ("false (reference N or S)", np.isin(dev.labels, [N, S]))):  # fmt: skip
        rows = called_v & truth
        print(f"| {name} | {rows.sum()} | {100 * np.mean(support[rows] == 0):.1f} % |")


if __name__ == "__main__":
    main()
