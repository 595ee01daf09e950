"""The AF call of a short strip on the CinC 2017 strips in ../shared: how the thresholds of
the rule (arrhythmia.rhythm.strip.StripParams, the fallback of a bundle without a learnt
model) were chosen and what they are worth on strips they did not see, beside the learnt
call the train stage fits (arrhythmia.training.strip_af), with params.yaml's trees and with
deeper ones, on params.yaml's record-wise folds (strip_af.folds; --folds sets the rule's).

    python benchmarks/strip_af.py [--cinc ../shared/data/cinc2017] [--folds 5]

Every strip is diagnosed by the product (own beats, the pipeline's model); its features are
computed from those beats. A grid of thresholds is searched for the best AF F1 (AF against
every other label); the record-wise cross-validated F1 chooses on 4 folds and scores the
fifth, pooled over the folds. The choice on all strips is what StripParams holds. Strips the
product refuses (under 10 s) count as not AF.
"""

from __future__ import annotations

import argparse
import csv
import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from arrhythmia.config import load_params
from arrhythmia.data.readers import RecordError
from arrhythmia.detection.model import QrsDetector
from arrhythmia.inference.model_handle import load_model
from arrhythmia.inference.predict import read_and_diagnose
from arrhythmia.rhythm.strip import StripParams, is_atrial_fibrillation, strip_features
from arrhythmia.training.strip_af import af_f1, fit_strip_af, strip_rows

GRID = {
    "af_min_irregularity": [0.04, 0.05, 0.056, 0.064, 0.07, 0.08, 0.1, 0.12],
    "af_max_p_similarity": [0.3, 0.4, 0.5, 0.6],
    "af_max_ectopic_pairs": [0.1, 0.15, 0.2, 0.3, 1.01],
    "af_max_unreadable": [0.2, 0.5, 1.01],
}


def features_of_strips(folder: Path, model, detector) -> tuple[list, np.ndarray]:
    with (folder / "REFERENCE.csv").open() as handle:
        truth = dict(csv.reader(handle))
    names = sorted(truth)
    features = []
    for name in tqdm(names, desc="cinc2017", unit="strip"):
        try:
            ecg, d = read_and_diagnose(folder / name, model, detector)
        except RecordError:
            features.append(None)
            continue
        lost = sum(end - start for start, end in d.unreadable)
        features.append(strip_features(d.samples, d.labels, d.fs, ecg.signal, lost))
    return features, np.array([truth[n] == "A" for n in names])


def calls(features: list, params: StripParams) -> np.ndarray:
    return np.array([is_atrial_fibrillation(f, params) for f in features])


def best_params(features: list, truth: np.ndarray) -> tuple[StripParams, float]:
    best = (StripParams(), -1.0)
    for values in itertools.product(*GRID.values()):
        params = StripParams(**dict(zip(GRID, values, strict=True)))
        score = af_f1(calls(features, params), truth)
        if score > best[1]:
            best = (params, score)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cinc", type=Path, default=Path("../shared/data/cinc2017"))
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    paths = load_params().paths
    model, detector = load_model(paths.model), QrsDetector.load(paths.qrs_detector)
    features, truth = features_of_strips(args.cinc, model, detector)

    rng = np.random.default_rng(2017)
    fold = np.empty(len(truth), dtype=int)
    for label in (True, False):  # stratified: AF strips spread evenly over the folds
        rows = rng.permutation(np.flatnonzero(truth == label))
        fold[rows] = np.arange(len(rows)) % args.folds
    held_out_calls = np.zeros(len(truth), dtype=bool)
    for k in range(args.folds):
        train = np.flatnonzero(fold != k)
        params, _ = best_params([features[i] for i in train], truth[train])
        test = np.flatnonzero(fold == k)
        held_out_calls[test] = calls([features[i] for i in test], params)
    chosen, in_sample = best_params(features, truth)
    shipped = calls(features, StripParams())
    print(f"{len(truth)} strips, {truth.sum()} AF")
    print(f"AF F1, thresholds chosen on the other folds ({args.folds} folds, record-wise): "
          f"{af_f1(held_out_calls, truth):.3f}")  # fmt: skip
    print(f"AF F1 of the choice on all strips (in sample): {in_sample:.3f}; its thresholds:")
    for name in GRID:
        print(f"  {name} = {getattr(chosen, name)}")
    print(f"AF F1 of StripParams as shipped: {af_f1(shipped, truth):.3f} "
          f"(Se {np.sum(shipped & truth) / truth.sum():.3f}, "
          f"+P {np.sum(shipped & truth) / max(shipped.sum(), 1):.3f})")  # fmt: skip
    learnt(args.cinc, model, detector)


def learnt(folder: Path, model, detector) -> None:
    """The learnt call's out-of-fold figures (thresholds chosen on the other folds)."""
    with (folder / "REFERENCE.csv").open() as handle:
        labels = dict(csv.reader(handle))
    strips = strip_rows(folder, replace(model, strip_af=None), detector, labels=labels)
    shipped = load_params().strip_af
    settings = {
        "params.yaml": shipped,
        "deeper (max_depth 6, 0.1)": replace(shipped, max_depth=6, learning_rate=0.1),
    }
    for name, params in settings.items():
        _, m = fit_strip_af(strips, params)
        print(f"learnt AF call, trees {name}: AF F1 {m['strip_af_f1_cv']:.3f} out of fold "
              f"({params.folds} record-wise folds; Se {m['strip_af_se_cv']:.3f}, "
              f"+P {m['strip_af_ppv_cv']:.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
