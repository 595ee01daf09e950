"""What the no-S-in-AF rule does at the reference beats: per record, the S beats found and
the false S calls, before and after the rule that no beat inside a detected AF episode is
premature. The rule runs on our own AF detection, never on the reference rhythm.

    python benchmarks/af_rule.py                # DS2, the test set: the pipeline's model
    python benchmarks/af_rule.py --development  # DS1 + SVDB out of fold, where choices are made
    python benchmarks/af_rule.py --development --p-wave-reference previous_beat

`--development` labels each development beat as the networks that did not see its patient
do, through the decision layer's cross-fitted offsets (the labels behind train's figures),
from the pipeline's finished checkpoints: run it after `make run` (nothing is retrained).
It also scores DS1's AF episodes found from those labels against the reference rhythm.
The VT/VF trees learnt from DS1's windows, so DS1 is in sample for them. `--p-wave-reference`
sets how the AF detector compares P waves (RhythmParams.af_p_wave_reference).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from arrhythmia.config import load_params
from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.data.beat_dataset import dataset_ecg, load_dataset
from arrhythmia.data.records import split_of
from arrhythmia.evaluation.at_reference import record_rhythm, rhythm_consistent
from arrhythmia.evaluation.rhythm_scoring import episode_scores, pool, reference_episodes
from arrhythmia.models.bundle import BeatClassifier, load_plain
from arrhythmia.rhythm.episodes import P_WAVE_REFERENCES, RhythmParams
from arrhythmia.training.ensemble import (
    checkpoint_name,
    decide,
    development_beats,
    train_development,
)
from arrhythmia.training.loop import ResumeError

S = AAMI_CLASSES.index("S")
AF = {"AFIB", "AFL"}


def development_proba(arrays, p) -> np.ndarray:
    """The development beats' probabilities out of fold, after the decision layer, from the
    pipeline's finished checkpoints (copied: nothing of the pipeline's is written)."""
    saved = Path(p.paths.checkpoints)
    names = [checkpoint_name(m, f) for m in range(p.train.seeds) for f in range(p.train.folds)]
    finished = all(
        (saved / name).is_file() and load_plain(saved / name)["state"]["done"] for name in names
    )
    if not finished:
        sys.exit(f"af_rule.py: {saved} lacks finished networks; run `make run` first")
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(shutil.copytree(saved, Path(scratch) / "checkpoints"))
        try:
            dev, members = train_development(
                arrays, p.train, p.preprocess, copy, resume=True, progress=False
            )
        except ResumeError as error:
            sys.exit(f"af_rule.py: {error}")
    return decide(arrays, members.oof_proba, p.train, dev.fold_of_beat, dev.include).validated


def rule_counts(labels: np.ndarray, before: np.ndarray, after: np.ndarray) -> list[int]:
    """S beats found before and after the rule, and false S calls before and after."""
    is_s = labels == S
    found = [int(np.sum(is_s & (proba.argmax(axis=1) == S))) for proba in (before, after)]
    false = [int(np.sum(~is_s & (proba.argmax(axis=1) == S))) for proba in (before, after)]
    return found + false


def print_table(rows: dict[str, tuple[int, list[int]]], name: str) -> None:
    """Records the rule changed, then the total and its SVEB Se and +P."""
    print("| record | S beats | S found before -> after | false S before -> after |")
    print("|:--|--:|--:|--:|")
    totals, n_s = np.zeros(4, dtype=int), 0
    for record, (s_beats, counts) in rows.items():
        totals += counts
        n_s += s_beats
        if counts[0] != counts[1] or counts[2] != counts[3]:
            print(f"| {record} | {s_beats} | {counts[0]} -> {counts[1]} | "
                  f"{counts[2]} -> {counts[3]} |")  # fmt: skip
    print(f"| {name} | {n_s} | {totals[0]} -> {totals[1]} | {totals[2]} -> {totals[3]} |")
    for when, found, false in (("before", totals[0], totals[2]), ("after", totals[1], totals[3])):
        print(f"SVEB {when} the rule: Se {percent(found, n_s)} / +P "
              f"{percent(found, found + false)}")  # fmt: skip


def percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}" if whole else "n/a"


def ds2_table(arrays, p, classifier, params: RhythmParams) -> None:
    ds2 = arrays["split"] == "DS2"
    records, labels = arrays["record"][ds2], arrays["label"][ds2]
    before = classifier.predict_proba(
        arrays["windows"][ds2], arrays["rr"][ds2], arrays["rr_names"], records
    )
    after = rhythm_consistent(
        partial(dataset_ecg, p.paths.raw_dir),
        records,
        arrays["sample"][ds2],
        before,
        strip_af=classifier.strip_af_model(),
        ventricular=classifier.ventricular_model(),
        params=params,
    )
    rows = {}
    for record in dict.fromkeys(records.tolist()):
        at = records == record
        rows[record] = (
            int(np.sum(labels[at] == S)),
            rule_counts(labels[at], before[at], after[at]),
        )
    print_table(rows, "all DS2")


def development_table(arrays, p, classifier, params: RhythmParams) -> None:
    dev = development_beats(arrays, p.train)
    proba = development_proba(arrays, p)
    records, labels, samples = arrays["record"][dev], arrays["label"][dev], arrays["sample"][dev]
    models = {
        "strip_af": classifier.strip_af_model(),
        "ventricular": classifier.ventricular_model(),
    }
    rows, af_scores = {}, []
    for record in tqdm(list(dict.fromkeys(records.tolist())), desc="development", unit="record"):
        at = records == record
        svdb = split_of(record) == "SVDB"
        raw_dir = Path(p.paths.svdb_raw_dir if svdb else p.paths.raw_dir)
        ecg = dataset_ecg(raw_dir, record)
        episodes, after = record_rhythm(ecg, samples[at], proba[at], **models, params=params)
        counts = rule_counts(labels[at], proba[at], after)
        rows[record] = (int(np.sum(labels[at] == S)), counts)
        if not svdb:  # SVDB's copies have no rhythm annotations
            reference = reference_episodes(str(raw_dir / record), len(ecg.signal))
            af_scores.append(episode_scores(reference, episodes, AF, fs=ecg.fs))
    print_table(rows, "development")
    af = pool(af_scores)
    print(f"DS1 AF from these labels: duration Se {percent(af['overlap_s'], af['reference_s'])}"
          f" / +P {percent(af['overlap_s'], af['detected_s'])}; episodes found "
          f"{af['reference_episodes_found']}/{af['reference_episodes']}, true "
          f"{af['detected_episodes_true']}/{af['detected_episodes']}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--development", action="store_true", help="DS1 + SVDB out of fold")
    parser.add_argument("--p-wave-reference", choices=P_WAVE_REFERENCES,
                        default=RhythmParams().af_p_wave_reference)  # fmt: skip
    args = parser.parse_args()
    p = load_params()
    arrays = load_dataset(p.paths.dataset)
    classifier = BeatClassifier.load(p.paths.model)
    params = RhythmParams(af_p_wave_reference=args.p_wave_reference)
    print(f"AF detector: P waves compared with the {args.p_wave_reference.replace('_', ' ')}")
    (development_table if args.development else ds2_table)(arrays, p, classifier, params)


if __name__ == "__main__":
    main()
