"""How many beats the noisy-stretch rule turns to Q, and how many false V calls that
removes, on development records (DS1, SVDB, and NSTDB's noisy copies of DS1's 118 and 119):
end to end (own detection), for several doubtful-candidate counts per window. DS2 is not
read. Prints one table row per setting ("off": no beat turned to Q).

The shipped classifier was trained on DS1 and SVDB, so its labels there are in-sample: the
figures say how many beats each setting silences, not how well the network would do on new
patients. NSTDB's noise is new to it (the clean 118 and 119 are DS1 records).

    python benchmarks/noise_gate.py [--nstdb ../shared/data/nstdb] [--svdb data/raw/svdb]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from noise_levels import SNRS  # NSTDB's nominal levels: one list for every script

from arrhythmia.config import load_params
from arrhythmia.data.aami import AAMI_CLASSES, aami_labels
from arrhythmia.data.readers import read_record
from arrhythmia.data.records import DS1, SVDB
from arrhythmia.data.wfdb_io import read_beats
from arrhythmia.detection.model import QrsDetector
from arrhythmia.evaluation.end_to_end import beat_confusion
from arrhythmia.inference.diagnose import classify_beats, detect_beats
from arrhythmia.inference.leads import read_lead_first
from arrhythmia.inference.model_handle import load_model
from arrhythmia.signal.quality import assess_quality, doubtful_stretches, inside

NSTDB = [f"{r}e{snr}" for r in ("118", "119") for snr in SNRS]
OFF = 10**6  # more doubtful candidates than a window can hold
SETTINGS = [(10.0, n) for n in (OFF, 8, 6, 5, 4, 3)] + [(20.0, n) for n in (10, 8, 6)]
N, S, V, Q, NONE = 0, 1, 2, 4, 5


def record_parts(path: Path, model, detector) -> dict:
    ecg = read_record(path)
    quality = assess_quality(ecg.signal, ecg.fs)
    ecg = read_lead_first(ecg, quality)
    found = detect_beats(ecg, detector)
    samples = found.samples[~inside(found.samples, quality.unreadable)]
    labels = np.array(AAMI_CLASSES)[classify_beats(ecg, samples, model).argmax(axis=1)]
    beats = read_beats(path)
    return dict(
        fs=ecg.fs,
        n=len(ecg.signal),
        samples=samples,
        labels=labels,
        doubtful=found.doubtful,
        ref=beats.sample,
        ref_labels=aami_labels(beats.symbol),
    )


def gated_confusion(part: dict, window_s: float, max_doubtful: int) -> np.ndarray:
    labels = part["labels"].copy()
    noisy = doubtful_stretches(part["doubtful"], part["n"], part["fs"], window_s, max_doubtful)
    labels[inside(part["samples"], noisy)] = "Q"
    return beat_confusion(part["ref"], part["ref_labels"], part["samples"], labels, part["fs"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nstdb", default="../shared/data/nstdb")
    parser.add_argument("--svdb", default=None)
    args = parser.parse_args()
    paths = load_params().paths
    model, detector = load_model(paths.model), QrsDetector.load(paths.qrs_detector)
    groups = {"DS1": [Path(paths.raw_dir) / r for r in DS1],
              "SVDB": [Path(args.svdb or paths.svdb_raw_dir) / r for r in SVDB],
              "NSTDB": [Path(args.nstdb) / r for r in NSTDB]}  # fmt: skip
    parts = {g: [record_parts(p, model, detector) for p in recs] for g, recs in groups.items()}
    print("| window s | doubtful >= | group | V found | false V | true V to Q | S to Q | Q % |")
    print("|--:|--:|:--|--:|--:|--:|--:|--:|")
    for window_s, max_doubtful in SETTINGS:
        for group, records in parts.items():
            c = sum(gated_confusion(p, window_s, max_doubtful) for p in records)
            false_v = c[:, V].sum() - c[V, V]
            print(
                f"| {window_s:g} | {max_doubtful} | {group} | {c[V, V]} | {false_v} | "
                f"{c[V, Q]} | {c[S, Q]} | {100 * c[:NONE, Q].sum() / c[:NONE, :NONE].sum():.2f} |"
            )


if __name__ == "__main__":
    main()
