"""Rhythm episode detection on MITDB: gross AF, VT and ventricular flutter scores for DS1 and DS2.

    python benchmarks/rhythm_detection.py [--mitdb ../shared/data/mitdb]
                                          [--model models/cnn.pt] [--splits DS1]

Beats are the reference beat positions of each record's .atr file; their labels come from
(a) the reference symbols mapped to AAMI classes and (b) the trained model's AAMI labels at
those beats, when the model file exists. The model was trained on DS1, so its DS1 labels
are in-sample (optimistic); its DS2 labels are honest. The end-to-end figures (own beat
detection too) are the evaluate stage's, in metrics/ds2_end_to_end.json.

Scoring (arrhythmia.evaluation.rhythm_scoring): whole records, no learning period skipped.
AF = reference episodes "(AFIB" and "(AFL" (the detector reports all AF as "AFIB"); VT =
"(VT"; VFL = "(VFL" and "[" ... "]". Gross figures pool overlap time and episode counts over
the records of a split. Every threshold was chosen on DS1 only.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from arrhythmia.data.aami import aami_labels
from arrhythmia.data.records import DS1, DS2
from arrhythmia.data.wfdb_io import read_beats, read_ecg
from arrhythmia.evaluation.rhythm_scoring import episode_scores, pool, reference_episodes
from arrhythmia.inference.model_handle import load_model
from arrhythmia.inference.predict import predict_record
from arrhythmia.rhythm.episodes import find_episodes

GROUPS: dict[str, set[str]] = {"AF": {"AFIB", "AFL"}, "VT": {"VT"}, "VFL": {"VFL"}}


def labelled_beats(record_path: Path, model) -> tuple[np.ndarray, np.ndarray]:
    """Reference beat positions with reference AAMI labels, or with the model's labels."""
    beats = read_beats(record_path)
    if model is None:
        return beats.sample, aami_labels(beats.symbol)
    predicted = predict_record(record_path, model, None, beats_from="atr")
    return predicted.samples, predicted.labels


def score_split(mitdb: Path, records: tuple[str, ...], model) -> dict:
    per_record, seconds = {}, 0.0
    for record in records:
        path = mitdb / record
        ecg = read_ecg(path)
        samples, labels = labelled_beats(path, model)
        n = ecg.signal.shape[0]
        tic = time.perf_counter()
        detected = find_episodes(samples, labels, ecg.fs, ecg.signal, n)
        seconds += time.perf_counter() - tic
        reference = reference_episodes(str(path), n)
        per_record[record] = {
            group: episode_scores(reference, detected, rhythms, fs=ecg.fs)
            for group, rhythms in GROUPS.items()
        }
    gross = {g: pool([s[g] for s in per_record.values()]) for g in GROUPS}
    return {"per_record": per_record, "gross": gross, "seconds": seconds}


def percent(value: float | None) -> str:
    return "   -" if value is None else f"{100 * value:5.1f}"


def print_split(split: str, source: str, result: dict) -> None:
    g = result["gross"]
    af, vt, vf = g["AF"], g["VT"], g["VFL"]
    print(
        f"{split:4} {source:10} "
        f"{percent(af['duration_se'])} {percent(af['duration_ppv'])}  "
        f"{percent(af['episode_se'])} {percent(af['episode_ppv'])}  "
        f"{percent(vt['episode_se'])} {percent(vt['episode_ppv'])}  "
        f"{percent(vf['duration_se'])} {percent(vf['duration_ppv'])}  "
        f"{af['reference_episodes']:3d}/{vt['reference_episodes']:3d}  "
        f"{result['seconds'] / len(result['per_record']):6.3f}"
    )


def print_af_records(split: str, source: str, result: dict) -> None:
    for record, scores in result["per_record"].items():
        af = scores["AF"]
        if af["reference_s"] == 0 and af["detected_s"] == 0:
            continue
        print(
            f"  {split} {source:10} {record}: AF ref {af['reference_s']:7.1f} s "
            f"det {af['detected_s']:7.1f} s overlap {af['overlap_s']:7.1f} s  episodes "
            f"found {af['reference_episodes_found']}/{af['reference_episodes']} "
            f"true {af['detected_episodes_true']}/{af['detected_episodes']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", type=Path, default=Path("../shared/data/mitdb"))
    parser.add_argument("--model", type=Path, default=Path("models/cnn.pt"))
    parser.add_argument("--splits", nargs="+", default=["DS1", "DS2"], choices=["DS1", "DS2"])
    args = parser.parse_args()

    sources: dict[str, object] = {"reference": None}
    if args.model.exists():
        sources["predicted"] = load_model(str(args.model))
    else:
        print(f"(no model at {args.model}: reference labels only)")

    results = {
        (split, source): score_split(args.mitdb, records, model)
        for split, records in (("DS1", DS1), ("DS2", DS2))
        if split in args.splits
        for source, model in sources.items()
    }
    print("Whole records (no 5-minute learning period); gross statistics in %.")
    print(
        "split labels     AF-dur Se  +P   AF-ep Se  +P   VT-ep Se  +P   VFL-dur Se +P   "
        "AF/VT ref eps  s/record"
    )
    for (split, source), result in results.items():
        print_split(split, source, result)
    print("\nPer-record AF (records with AF in the reference or the detection):")
    for (split, source), result in results.items():
        print_af_records(split, source, result)


if __name__ == "__main__":
    main()
