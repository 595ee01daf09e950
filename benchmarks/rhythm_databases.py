"""Rhythm figures of the whole product (own beat detection, the pipeline's model) on each
rhythm development database: MITDB's DS1, VFDB, CUDB and the CinC 2017 strips; and for
SVDB, whose records in ../shared carry beat labels but no rhythm annotations, the AF called
over its frequent supraventricular ectopy.

    python benchmarks/rhythm_databases.py                       # every database
    python benchmarks/rhythm_databases.py vfdb cudb --out reports/rhythm/vt_vf.json
    python benchmarks/rhythm_databases.py cinc2017 --cinc-limit 300
    python benchmarks/rhythm_databases.py mitdb vfdb cudb svdb --no-af-confirmation

`--no-af-confirmation` gives long records the episode detector's AF as it stands, without
the learnt strip call's confirmation window by window (the product before that step); its
figures go to reports/rhythm/without_af_confirmation.json unless --out says otherwise.

Long records (MITDB, VFDB, CUDB): gross duration and episode Se / +P of AF (AFIB and
AFL), VT, VF (flutter and fibrillation: the product reports both as VFL) and VT-or-VF, whole
records scored against their `.atr` rhythm annotations (CUDB marks VF with `[` `]` only, so
its VT is not in the reference; VFDB's "(NOISE" notes are scored as noise, although there
the rhythm before them goes on). CinC 2017: each strip's call (A where AF covers at least
half of it) against REFERENCE.csv: F1 per class and the challenge score, the mean F1 of N,
A and O. SVDB: the time called AF and the reference S beats inside it. Cardiologists
label no beat S in AF (MITDB calls those N), so an S beat inside a called AF episode marks
AF called over atrial ectopy, and the no-S-in-AF rule turns it into a missed S beat. DS2 is
the test set and is never run here.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from arrhythmia.config import load_params
from arrhythmia.data.aami import aami_labels
from arrhythmia.data.readers import RecordError
from arrhythmia.data.records import DS1
from arrhythmia.data.wfdb_io import read_beats
from arrhythmia.detection.model import QrsDetector
from arrhythmia.evaluation.rhythm_scoring import episode_scores, pool, reference_episodes
from arrhythmia.inference.model_handle import load_model
from arrhythmia.inference.outputs import time_in_rhythm
from arrhythmia.inference.predict import predict_record

# VFDB names fibrillation "(VF" or "(VFIB"; the product reports flutter and fibrillation as VFL
GROUPS: dict[str, set[str]] = {
    "AF": {"AFIB", "AFL"},
    "VT": {"VT"},
    "VF": {"VF", "VFIB", "VFL"},
    "VT or VF": {"VT", "VF", "VFIB", "VFL"},
}
LONG_RECORDS = ("mitdb", "vfdb", "cudb")
# SVDB's copies in ../shared hold beat labels only, no rhythm annotations to score against
BEAT_LABELLED = ("svdb",)
CINC_CLASSES = ("N", "A", "O", "~")


def cinc_call(d) -> str:
    """A strip's CinC 2017 label from its diagnosis: A where AF covers at least half of it,
    ~ where the unreadable part does, N for sinus rhythm (bradycardia included) at 40-110 bpm
    with at most two ectopic beats, O for anything else (chosen on these strips: the N / O
    line is the challenge's, not a bar of ours)."""
    seconds = Counter(time_in_rhythm(d))
    length = d.n_samples / d.fs
    if seconds["AFIB"] + seconds["AFL"] >= length / 2:
        return "A"
    if seconds["NOISE"] >= length / 2 or len(d.samples) < 2:
        return "~"
    rate = 60.0 * (len(d.samples) - 1) * d.fs / (d.samples[-1] - d.samples[0])
    ectopic = int(np.isin(d.labels, ["S", "V", "F"]).sum())
    if set(seconds) <= {"N", "SBR", "NOISE"} and ectopic <= 2 and 40 <= rate <= 110:
        return "N"
    return "O"


def record_names(database: str, folder: Path) -> list[str]:
    if database == "mitdb":
        return list(DS1)  # the development part of MITDB; DS2 is the test set
    return (folder / "RECORDS").read_text().split()


def score_long(database: str, folder: Path, model, detector) -> dict:
    per_record = {}
    for name in tqdm(record_names(database, folder), desc=database, unit="record"):
        path = folder / name
        diagnosis = predict_record(path, model, detector)
        reference = reference_episodes(str(path), diagnosis.n_samples)
        per_record[name] = {
            group: episode_scores(reference, diagnosis.episodes, rhythms, fs=diagnosis.fs)
            for group, rhythms in GROUPS.items()
        }
    gross = {g: pool([scores[g] for scores in per_record.values()]) for g in GROUPS}
    return {"gross": gross, "per_record": per_record}


def score_af_over_ectopy(folder: Path, model, detector) -> dict:
    """Per record: seconds called AF, reference S beats inside them, reference S beats."""
    per_record = {}
    for name in tqdm(record_names("svdb", folder), desc="svdb", unit="record"):
        diagnosis = predict_record(folder / name, model, detector)
        reference = read_beats(folder / name)
        s_beats = reference.sample[aami_labels(reference.symbol) == "S"]
        af = [e for e in diagnosis.episodes if e.rhythm in GROUPS["AF"]]
        per_record[name] = {
            "af_s": sum(e.end - e.start for e in af) / diagnosis.fs,
            "s_in_af": int(sum(np.sum((s_beats >= e.start) & (s_beats < e.end)) for e in af)),
            "s_beats": len(s_beats),
        }
    keys = ("af_s", "s_in_af", "s_beats")
    gross = {key: sum(r[key] for r in per_record.values()) for key in keys}
    return {"gross": gross, "per_record": per_record}


def f1_scores(truth: list[str], called: list[str]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for c in CINC_CLASSES:
        tp = sum(t == c and p == c for t, p in zip(truth, called, strict=True))
        denominator = truth.count(c) + called.count(c)
        out[c] = None if denominator == 0 else 2 * tp / denominator
    return out


def score_cinc(folder: Path, model, detector, limit: int | None) -> dict:
    with (folder / "REFERENCE.csv").open() as handle:
        truth = dict(csv.reader(handle))
    names = sorted(truth)[:limit]
    called, failed = {}, []
    started = time.monotonic()
    for name in tqdm(names, desc="cinc2017", unit="strip"):
        try:
            called[name] = cinc_call(predict_record(folder / name, model, detector))
        except RecordError as error:  # a strip under 10 s is refused: it is counted as noise
            failed.append(f"{name}: {error}")
            called[name] = "~"
    seconds = time.monotonic() - started
    ref = [truth[n] for n in names]
    got = [called[n] for n in names]
    f1 = f1_scores(ref, got)
    scored = [f1[c] for c in ("N", "A", "O")]
    confusion = Counter(f"{t}->{p}" for t, p in zip(ref, got, strict=True))
    return {
        "n_strips": len(names), "f1": f1,
        "challenge_score": None if None in scored else sum(scored) / 3,
        "confusion": dict(sorted(confusion.items())), "refused": failed,
        "strips_per_second": len(names) / seconds if seconds else None,
        "calls": called,
    }  # fmt: skip


def percent(value: float | None) -> str:
    return "  -  " if value is None else f"{100 * value:5.1f}"


def print_long(database: str, result: dict) -> None:
    for group, g in result["gross"].items():
        if g["reference_s"] == 0 and g["detected_s"] == 0:
            continue
        print(
            f"| {database} | {group} | {g['reference_s']:.0f} | {g['detected_s']:.0f} | "
            f"{percent(g['duration_se'])} | {percent(g['duration_ppv'])} | "
            f"{g['reference_episodes_found']}/{g['reference_episodes']} | "
            f"{g['detected_episodes_true']}/{g['detected_episodes']} |"
        )


def print_cinc(result: dict) -> None:
    f1 = result["f1"]
    print(f"\nCinC 2017, {result['n_strips']} strips "
          f"({result['strips_per_second']:.1f} a second, model and reading included):")  # fmt: skip
    score = percent(result["challenge_score"])
    print("F1 " + ", ".join(f"{c} {percent(f1[c])}" for c in CINC_CLASSES)
          + f"; challenge score (mean F1 of N, A, O) {score}")  # fmt: skip
    print("reference->called: " + ", ".join(f"{k} {v}" for k, v in result["confusion"].items()))
    if result["refused"]:
        print(f"{len(result['refused'])} strips refused (called ~), e.g. {result['refused'][0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    known = [*LONG_RECORDS, *BEAT_LABELLED, "cinc2017"]
    parser.add_argument("databases", nargs="*", help=f"of {', '.join(known)} (default: all)")
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--cinc-limit", type=int, default=None, help="the first N strips only")
    parser.add_argument("--out", type=Path, help="default: reports/rhythm/databases.json")
    parser.add_argument(
        "--no-af-confirmation",
        action="store_true",
        help="long records: AF from the episode detector alone, unconfirmed by the strip call",
    )
    args = parser.parse_args()
    if args.out is None:
        name = "without_af_confirmation" if args.no_af_confirmation else "databases"
        args.out = Path(f"reports/rhythm/{name}.json")
    unknown = sorted(set(args.databases) - set(known))
    if unknown:
        parser.error(f"unknown databases {unknown}: choose from {known}")

    paths = load_params().paths
    model, detector = load_model(paths.model), QrsDetector.load(paths.qrs_detector)
    # on a long record the strip call only confirms AF: without it, the detector's AF stands
    long_model = replace(model, strip_af=None) if args.no_af_confirmation else model
    results = {}
    for database in args.databases or known:
        folder = args.data / database
        if database == "cinc2017":
            results[database] = score_cinc(folder, model, detector, args.cinc_limit)
        elif database in BEAT_LABELLED:
            results[database] = score_af_over_ectopy(folder, long_model, detector)
        else:
            results[database] = score_long(database, folder, long_model, detector)
    # a run over some databases keeps the others' last figures in the file
    saved = json.loads(args.out.read_text()) if args.out.is_file() else {}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**saved, **results}, indent=1) + "\n")

    print("Whole records, gross statistics in %; episodes found / reference, true / detected.")
    print("| database | rhythm | reference s | detected s | duration Se | duration +P | "
          "episode Se | episode +P |")  # fmt: skip
    print("|:--|:--|--:|--:|--:|--:|--:|--:|")
    for database, result in results.items():
        if database in LONG_RECORDS:
            print_long("MITDB DS1" if database == "mitdb" else database.upper(), result)
    if "svdb" in results:
        g = results["svdb"]["gross"]
        print(f"\nSVDB: AF called over {g['af_s']:.0f} s; {g['s_in_af']} of its {g['s_beats']} "
              "reference S beats lie inside (AF called over atrial ectopy)")  # fmt: skip
    if "cinc2017" in results:
        print_cinc(results["cinc2017"])
    print(f"\n(per record: {args.out})")


if __name__ == "__main__":
    main()
