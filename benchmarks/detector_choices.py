"""The DS1 figures behind three settings of the QRS detector; prints them.

    python benchmarks/detector_choices.py [--mitdb ../shared/data/mitdb]

1. Tree settings (params.yaml `train_detector`) against scikit-learn's defaults: DS1
   cross-fitted min(Se, +P) at the best threshold, as `train_detector` chooses it.
2. The R-peak fiducial (`detection.fiducial`): share of DS1 candidates matched to an
   annotated N or V beat that sit more than 8 samples (22 ms) from it, before and after
   moving them to the largest nearby deflection.
3. The noise rule (`signal.quality.doubtful_stretches`): with trees cross-fitted over DS1
   halves, the share of 10-s windows holding MAX_DOUBTFUL or more doubtful candidates, and
   the share of extra detections (kept candidates matching no beat) inside them.
4. Noisy copies (`detection.noise`, params.yaml `noise_snr_db`): the trees fitted on the clean
   DS1 records alone or also on noisy copies; DS1 cross-fitted Se and +P on the clean
   records and on other noisy copies, each at the threshold `train_detector` would choose.
Items 1-3 were chosen on the clean records, before noisy copies were added; they still use
the clean records alone. DS1 only: every number here chose, or checks, a setting.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from arrhythmia.config import load_params
from arrhythmia.data.aami import aami_labels
from arrhythmia.data.records import DS1
from arrhythmia.data.wfdb_io import read_beats, read_ecg
from arrhythmia.detection.candidates import find_candidates
from arrhythmia.detection.fiducial import refine_to_peak
from arrhythmia.detection.model import DOUBT
from arrhythmia.detection.training import (
    FIT,
    NoiseSettings,
    TreeSettings,
    choose_threshold,
    cross_fitted_trees,
    fit_detector,
    fit_trees,
    labelled_records,
)
from arrhythmia.evaluation.beat_matching import match_beats
from arrhythmia.signal.ecg import primary_lead_first
from arrhythmia.signal.quality import DOUBT_WINDOW_S, MAX_DOUBTFUL

MISPLACED = 8  # samples at 360 Hz: 22 ms


def tree_settings(data, chosen: TreeSettings) -> None:
    for name, settings in (("scikit-learn defaults", TreeSettings(learning_rate=0.1,
                                                                   max_leaf_nodes=31)),
                           ("params.yaml", chosen)):  # fmt: skip
        detector, info = fit_detector(data, settings)
        se, pp = info["cross_fitted"][info["threshold"]]
        print(f"1. trees, {name}: threshold {detector.threshold}, DS1 cross-fitted "
              f"Se {100 * se:.2f} +P {100 * pp:.2f}")  # fmt: skip


def fiducial(mitdb: Path) -> None:
    misplaced = {"before": {"N": [], "V": []}, "after": {"N": [], "V": []}}
    for record in DS1:
        ecg = primary_lead_first(read_ecg(mitdb / record))
        beats = read_beats(mitdb / record)
        labels = aami_labels(beats.symbol)
        raw = find_candidates(ecg.signal, ecg.fs).sample
        for when, at in (("before", raw), ("after", refine_to_peak(ecg.signal[:, 0], ecg.fs, raw))):
            m = match_beats(beats.sample, at, ecg.fs)
            off = np.abs(at[m.detected] - beats.sample[m.reference]) > MISPLACED
            for c in ("N", "V"):
                misplaced[when][c].append(off[labels[m.reference] == c])
    for when, by_class in misplaced.items():
        cells = ", ".join(
            f"{c} {100 * np.concatenate(v).mean():.1f} %" for c, v in by_class.items()
        )
        print(f"2. fiducial, {when} refinement: beats more than 22 ms from the annotation: {cells}")


def noise_rule(data, settings: TreeSettings, threshold: float) -> None:
    halves = (data[::2], data[1::2])
    n_windows = flagged_windows = extra = extra_flagged = 0
    for held_out, fitted_on in ((halves[0], halves[1]), (halves[1], halves[0])):
        trees = fit_trees(fitted_on, settings)
        for d in held_out:
            p = trees.proba(d.features)
            window = int(DOUBT_WINDOW_S * d.fs)
            count = np.bincount(d.sample[(p > DOUBT[0]) & (p < DOUBT[1])] // window,
                                minlength=d.sample.max() // window + 1)  # fmt: skip
            flagged = count >= MAX_DOUBTFUL
            kept = d.sample[p >= threshold]
            m = match_beats(d.reference, kept, d.fs)
            unmatched = np.ones(len(kept), dtype=bool)
            unmatched[m.detected] = False
            n_windows += len(count)
            flagged_windows += int(flagged.sum())
            extra += int(unmatched.sum())
            extra_flagged += int(flagged[kept[unmatched] // window].sum())
    print(f"3. noise rule: {100 * flagged_windows / n_windows:.1f} % of DS1's 10-s windows "
          f"flagged, holding {100 * extra_flagged / max(extra, 1):.0f} % of the {extra} extra "
          "detections")  # fmt: skip


def noisy_copies(mitdb: Path, settings: TreeSettings, noise: NoiseSettings) -> None:
    data = labelled_records(mitdb, DS1, noise=noise)
    scored = [d for d in data if d.use != FIT]
    subsets = {"clean": [i for i, d in enumerate(scored) if d.snr_db is None],
               "noisy": [i for i, d in enumerate(scored) if d.snr_db is not None]}  # fmt: skip
    for name, fitted_on in (("the clean records only", [d for d in data if d.snr_db is None]),
                            (f"also noisy copies at {list(noise.snr_db)} dB", data)):  # fmt: skip
        trees = cross_fitted_trees(fitted_on, settings)
        proba = [trees[d.record].proba(d.features) for d in scored]
        chosen, _ = choose_threshold(scored, proba)
        cells = []
        for label, index in subsets.items():
            _, table = choose_threshold([scored[i] for i in index], [proba[i] for i in index])
            cells.append(f"{label} {100 * table[chosen][0]:.2f} / {100 * table[chosen][1]:.2f}")
        print(f"4. trees fitted on {name}: threshold {chosen}, DS1 cross-fitted Se / +P: "
              + ", ".join(cells))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", default="../shared/data/mitdb")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    mitdb = Path(args.mitdb)
    params = load_params(args.params).train_detector
    settings = TreeSettings.from_params(params)
    data = labelled_records(mitdb, DS1)
    tree_settings(data, settings)
    fiducial(mitdb)
    detector, _ = fit_detector(data, settings)
    noise_rule(data, settings, detector.threshold)
    noisy_copies(mitdb, settings, NoiseSettings.from_params(params))


if __name__ == "__main__":
    main()
