"""Would a learnt classifier of signal windows tell VT from VF better than the product's
rules, on records it did not learn from? Issue 18 welcomes one "if it generalises across
the databases"; this measures it.

    python benchmarks/vt_vf_windows.py [--data ../shared/data]
        [--out reports/rhythm/vt_vf_windows.json]

This study led to the product's VT/VF presence trees (params.yaml `ventricular`, fitted by
the train stage, whose record-wise out-of-fold figures of the product itself go to
metrics/train.json); it keeps the three-class trees and the readings compared here.

Every record of MITDB's DS1, VFDB and CUDB in ../shared is diagnosed by the product (own
beats, the pipeline's model, its rules alone: the bundle's own VT/VF trees learnt from these
records). On the rhythm detectors' own windows (4 s, every 1 s of
samples) each window gets the features the rules read, combined over the leads (mean and
minimum of the dominant frequency, spectral concentration and threshold-crossing share;
the largest amplitude and the share of leads with a signal; mean and largest
cycle-to-cycle similarity and amplitude variation), what the beats found and classified
before any rhythm rule say about the 8 s around it (beats per second, share of V and N
beats, median and variation of the RR intervals, share of the signal unreadable by its
quality alone), and the running median of all of these over 9 windows (the rules' VT
smoothing). Its label is the reference rhythm at its centre: VT, VF (VF, VFIB, VFL) or
other. The tree settings and window counts were set once, before any result was seen; the
beats' source was corrected after the first results (they had come after the rules).

Gradient-boosted trees (3 classes, probabilities averaged over 5 windows, the largest
wins) are scored on records they did not learn from, two ways: 10 record-wise folds over
all three databases, and one database left out at a time (trained on the other two). Their
VT also takes runs of 3 or more V beats over 90 bpm (the rules' beat-run VT) from the same
pre-rule beats; their VT and VF paint over it. A second reading of the same trees, added
after the first table (trees better at whether, worse at which): the trees say whether a
ventricular tachyarrhythmia is there (VT and VF likelier together than not, at 0.5, the
only threshold scored, or a VT run of beats), the rules name it (`presence_calls`); its VT
/ VF split inherits the rules' in-sample thresholds. The product's rules, whose thresholds
were chosen on these records (in sample), are scored on the same grid. Figures: duration
Se / +P per database, in %. MITDB's beat classes come from a classifier trained on DS1 and
SVDB; VFDB and CUDB are unseen by it. CUDB has one lead, VFDB and MITDB two. DS2 is the
test set and is never read here.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from tqdm import tqdm

from arrhythmia.atomic import write_json
from arrhythmia.config import load_params
from arrhythmia.data.records import DS1
from arrhythmia.detection.model import QrsDetector
from arrhythmia.evaluation.rhythm_scoring import reference_episodes
from arrhythmia.inference.diagnose import classified_beats
from arrhythmia.inference.model_handle import load_model
from arrhythmia.inference.predict import read_and_diagnose
from arrhythmia.rhythm.episodes import RhythmParams, run_spans
from arrhythmia.rhythm.ventricular import window_rows
from arrhythmia.signal.quality import assess_quality

DATABASES = ("mitdb", "vfdb", "cudb")
OTHER, VT, VF = 0, 1, 2
CLASS_OF = {"VT": VT, "VF": VF, "VFIB": VF, "VFL": VF}  # reference names; product: VT, VFL
SMOOTH_WINDOWS = 5  # the trees' probabilities are averaged over this many windows
GROUPS = {"VT": (VT,), "VF": (VF,), "VT or VF": (VT, VF)}


def painted(episodes, n_samples: int) -> np.ndarray:
    """Per sample: VT, VF or OTHER from (rhythm, start, end) episodes."""
    out = np.full(n_samples, OTHER, dtype=np.int8)
    for rhythm, start, end in episodes:
        out[start:end] = CLASS_OF.get(rhythm, OTHER)
    return out


def window_table(ecg, beats, diagnosis, reference, params: RhythmParams) -> dict | None:
    """Feature rows (the product's, :func:`arrhythmia.rhythm.ventricular.window_rows`),
    reference labels and the rules' calls of one record's windows; `beats` are the record's
    beats and classes before any rhythm rule, `diagnosis` the rules' alone."""
    fs, n = diagnosis.fs, diagnosis.n_samples
    table = window_rows(ecg.signal, fs, beats.samples, beats.labels, beats.unreadable, params)
    if table is None:
        return None
    beat_vt = np.zeros(n, dtype=bool)
    rate = params.vt_min_rate_bpm
    for a, b in run_spans(beats.samples, beats.labels, fs, "V", params.vt_min_beats, rate):
        beat_vt[a:b] = True
    episodes = [(e.rhythm, e.start, e.end) for e in diagnosis.episodes]
    return {
        "x": table.rows,
        "y": painted([(e.rhythm, e.start, e.end) for e in reference], n)[table.centres],
        "rules": painted(episodes, n)[table.centres],
        "beat_vt": beat_vt[table.centres],
    }


def windows_of_every_record(data: Path) -> dict[tuple[str, str], dict]:
    """(database, record) -> its window_table, for the development records in `data`."""
    paths = load_params().paths
    # the rules alone: the bundle's own VT/VF trees learnt from these very records
    model = replace(load_model(paths.model), ventricular=None)
    detector = QrsDetector.load(paths.qrs_detector)
    params, out = RhythmParams(), {}
    for database in DATABASES:
        folder = data / database
        names = list(DS1) if database == "mitdb" else (folder / "RECORDS").read_text().split()
        for name in tqdm(names, desc=database, unit="record"):
            ecg, diagnosis = read_and_diagnose(folder / name, model, detector)
            beats = classified_beats(ecg, model, detector, assess_quality(ecg.signal, ecg.fs))
            reference = reference_episodes(str(folder / name), diagnosis.n_samples)
            table = window_table(ecg, beats, diagnosis, reference, params)
            if table is not None:
                out[(database, name)] = table
    return out


def _trees():
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=200,
        learning_rate=0.05,
        max_depth=4,
        min_samples_leaf=50,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=0,
    )


def learnt_probabilities(by_record: dict, folds: list[tuple[list, list]]) -> dict:
    """Each record's window probabilities (OTHER, VT, VF), averaged over SMOOTH_WINDOWS, by
    trees fitted on the records of the other side of its fold."""
    probabilities = {}
    for train, test in tqdm(folds, desc="trees", unit="fold"):
        x = np.concatenate([by_record[k]["x"] for k in train])
        y = np.concatenate([by_record[k]["y"] for k in train])
        trees = _trees().fit(x, y)
        assert list(trees.classes_) == [OTHER, VT, VF], trees.classes_
        for key in test:
            p = trees.predict_proba(by_record[key]["x"])
            probabilities[key] = sliding_window_view(
                np.pad(p, ((SMOOTH_WINDOWS // 2,) * 2, (0, 0)), mode="edge"), SMOOTH_WINDOWS, 0
            ).mean(axis=2)
    return probabilities


def trees_calls(table: dict, p: np.ndarray) -> np.ndarray:
    """The trees name the rhythm: the likeliest class, else the beats' VT runs."""
    cls = p.argmax(axis=1)
    return np.where(cls != OTHER, cls, np.where(table["beat_vt"], VT, OTHER))


def presence_calls(table: dict, p: np.ndarray) -> np.ndarray:
    """The trees say whether a ventricular tachyarrhythmia is there (VT and VF together
    likelier than not, or a VT run of beats); the rules say which: their own call where
    they make one, VT on a VT run of beats, else VF (no VT run of beats there).
    Set after the study's first table, which showed the trees telling presence better
    than the rules but VT from VF worse."""
    present = (p[:, VT] + p[:, VF] > 0.5) | table["beat_vt"]
    rules = table["rules"]
    named = np.where(np.isin(rules, (VT, VF)), rules, np.where(table["beat_vt"], VT, VF))
    return np.where(present, named, OTHER)


READINGS = {"trees": trees_calls, "trees' presence, rules' split": presence_calls}


def record_folds(keys: list, n_folds: int = 10) -> list[tuple[list, list]]:
    return [
        ([k for j, k in enumerate(keys) if j % n_folds != i], keys[i::n_folds])
        for i in range(n_folds)
    ]


def database_folds(keys: list) -> list[tuple[list, list]]:
    return [([k for k in keys if k[0] != d], [k for k in keys if k[0] == d]) for d in DATABASES]


def scores(by_record: dict, calls: dict) -> dict:
    """Duration Se / +P (%) per database and group, on the windows' 1-s grid."""
    out = {}
    for database in DATABASES:
        keys = [k for k in calls if k[0] == database]
        y = np.concatenate([by_record[k]["y"] for k in keys])
        called = np.concatenate([calls[k] for k in keys])
        for group, classes in GROUPS.items():
            ref, got = np.isin(y, classes), np.isin(called, classes)
            both = float((ref & got).sum())
            out[f"{database} {group}"] = {
                "reference_s": int(ref.sum()),
                "se": 100 * both / ref.sum() if ref.any() else None,
                "ppv": 100 * both / got.sum() if got.any() else None,
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("reports/rhythm/vt_vf_windows.json"))
    args = parser.parse_args()
    by_record = windows_of_every_record(args.data)
    keys = sorted(by_record)
    folds = {"record-wise folds": record_folds(keys), "database left out": database_folds(keys)}
    results = {
        "product rules (in sample)": scores(by_record, {k: by_record[k]["rules"] for k in keys})
    }
    for name, split in folds.items():
        probabilities = learnt_probabilities(by_record, split)
        for label, call in READINGS.items():
            calls = {k: call(by_record[k], p) for k, p in probabilities.items()}
            results[f"{label}, {name}"] = scores(by_record, calls)
    write_json(args.out, results)
    print("Duration Se / +P in %, on the windows' centres (every 1 s of samples); '-' where")
    print("nothing to score. The rules' thresholds were chosen on these records.")
    rows = list(next(iter(results.values())))
    print("| database, rhythm | reference s | " + " | ".join(results) + " |")
    print("|:--|--:|" + "--:|" * len(results))
    for row in rows:
        cells = [
            "/".join("-" if r[row][k] is None else f"{r[row][k]:.1f}" for k in ("se", "ppv"))
            for r in results.values()
        ]
        reference = next(iter(results.values()))[row]["reference_s"]
        print(f"| {row} | {reference} | " + " | ".join(cells) + " |")
    print(f"\n({args.out})")


if __name__ == "__main__":
    main()
