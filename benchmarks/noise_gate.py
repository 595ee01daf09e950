"""How many beats the noisy-stretch rule turns to Q, and how many false V calls and false
VT episodes that removes, on development records (DS1, SVDB, and NSTDB's noisy copies of
DS1's 118 and 119): end to end (own detection), for several doubtful-candidate counts per
window, and for noisy stretches grown over the touching windows with fewer (`near`). DS2 is
not read. Prints one table row per setting ("off": no beat turned to Q). VT episodes are
those of runs of V labels (3 or more, faster than 90 bpm: what the noise rule overrides),
scored against the reference rhythm notes; 118 and 119 have no VT, so NSTDB's are false.

The shipped classifier was trained on DS1 and SVDB, so its labels there are in-sample: the
figures say how many beats each setting silences, not how well the network would do on new
patients. NSTDB's noise is new to it (the clean 118 and 119 are DS1 records).

    python benchmarks/noise_gate.py [--nstdb ../shared/data/nstdb] [--svdb data/raw/svdb] \
        [--cache /tmp/noise_gate.pkl]
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
from pathlib import Path

import numpy as np
from noise_levels import SNRS  # NSTDB's nominal levels: one list for every script

from arrhythmia.config import load_params
from arrhythmia.data.aami import AAMI_CLASSES, aami_labels
from arrhythmia.data.readers import read_record
from arrhythmia.data.records import DS1, SVDB
from arrhythmia.data.wfdb_io import read_beats
from arrhythmia.detection.model import QrsDetector
from arrhythmia.evaluation.end_to_end import beat_confusion, beat_statistics
from arrhythmia.evaluation.rhythm_scoring import episode_scores, pool, reference_episodes
from arrhythmia.inference.diagnose import classify_beats, detect_beats
from arrhythmia.inference.leads import read_lead_first
from arrhythmia.inference.model_handle import load_model
from arrhythmia.rhythm.episodes import Episode, RhythmParams, run_spans
from arrhythmia.signal.quality import assess_quality, covered_before, doubtful_stretches, inside

NSTDB = [f"{r}e{snr}" for r in ("118", "119") for snr in SNRS]
OFF = 10**6  # more doubtful candidates than a window can hold
# (window s, doubtful candidates that make a window noisy, those that make a touching one)
SETTINGS = (
    [(10.0, n, None) for n in (OFF, 8, 6, 5, 4, 3)]
    + [(10.0, 8, near) for near in (6, 5, 4, 3, 2, 1)]
    + [(20.0, n, None) for n in (10, 8, 6)]
)
N, S, V, Q, NONE = 0, 1, 2, 4, 5
RHYTHM = RhythmParams()
MAX_AF_IN_NOISE = 0.02  # the choice: no more than this share of reference AF time lost to noise


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
        ref_episodes=reference_episodes(str(path), len(ecg.signal)),
    )


def noisy_stretches(part: dict, setting: tuple) -> list[tuple[int, int]]:
    window_s, max_doubtful, near = setting
    return doubtful_stretches(part["doubtful"], part["n"], part["fs"], window_s, max_doubtful, near)


def vt_scores(part: dict, labels: np.ndarray) -> dict:
    spans = run_spans(
        part["samples"], labels, part["fs"], "V", RHYTHM.vt_min_beats, RHYTHM.vt_min_rate_bpm
    )
    detected = [Episode("VT", int(a), int(b)) for a, b in spans]
    return episode_scores(part["ref_episodes"], detected, {"VT"}, fs=part["fs"])


def af_in_noise_s(part: dict, noisy: list[tuple[int, int]]) -> tuple[float, float]:
    """Seconds of reference AF (and flutter), and how many of them lie in noisy stretches."""
    af = [(e.start, e.end) for e in part["ref_episodes"] if e.rhythm in ("AFIB", "AFL")]
    spans = np.asarray(noisy, dtype=np.int64).reshape(-1, 2)
    lost = sum(int(np.diff(covered_before(spans, np.array([a, b])))[0]) for a, b in af)
    return sum(b - a for a, b in af) / part["fs"], lost / part["fs"]


def setting_counts(records: list[dict], setting: tuple) -> dict:
    """One group's beat confusion, pooled VT episode scores and AF time lost, under a rule."""
    confusion, vt, af = 0, [], np.zeros(2)
    for part in records:
        noisy = noisy_stretches(part, setting)
        labels = part["labels"].copy()
        labels[inside(part["samples"], noisy)] = "Q"
        fs = part["fs"]
        confusion = confusion + beat_confusion(
            part["ref"], part["ref_labels"], part["samples"], labels, fs
        )
        vt.append(vt_scores(part, labels))
        af += af_in_noise_s(part, noisy)
    return {"confusion": confusion, "vt": pool(vt), "af_s": af[0], "af_in_noise_s": af[1]}


def f1(se: float | None, pp: float | None) -> float:
    return 0.0 if not se or not pp else 2 * se * pp / (se + pp)


def cached_parts(groups: dict, cache: Path | None, paths) -> dict:
    """Every record's beats and labels; read from `cache` where it holds those of the same
    model, detector and records (written whole or not at all)."""
    key = [file_digest(paths.model), file_digest(paths.qrs_detector), repr(groups)]
    if cache is not None and cache.exists():
        stored = pickle.loads(cache.read_bytes())
        if stored["key"] == key:
            return stored["parts"]
    model, detector = load_model(paths.model), QrsDetector.load(paths.qrs_detector)
    parts = {g: [record_parts(p, model, detector) for p in recs] for g, recs in groups.items()}
    if cache is not None:
        partial = cache.with_suffix(".partial")
        partial.write_bytes(pickle.dumps({"key": key, "parts": parts}))
        partial.replace(cache)
    return parts


def file_digest(path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nstdb", default="../shared/data/nstdb")
    parser.add_argument("--svdb", default=None)
    parser.add_argument("--cache", type=Path, default=None, help="pickle of the records' labels")
    args = parser.parse_args()
    paths = load_params().paths
    groups = {"DS1": [Path(paths.raw_dir) / r for r in DS1],
              "SVDB": [Path(args.svdb or paths.svdb_raw_dir) / r for r in SVDB],
              "NSTDB": [Path(args.nstdb) / r for r in NSTDB]}  # fmt: skip
    parts = cached_parts(groups, args.cache, paths)
    counts = {
        setting: {g: setting_counts(r, setting) for g, r in parts.items()} for setting in SETTINGS
    }
    print("| window s | doubtful >= | near | group | V found | false V | true V to Q | S to Q "
          "| Q % | VT episodes found | false VT episodes |")  # fmt: skip
    print("|--:|--:|--:|:--|--:|--:|--:|--:|--:|--:|--:|")
    for setting, groups_counts in counts.items():
        for group, k in groups_counts.items():
            c, vt = k["confusion"], k["vt"]
            false_v = c[:, V].sum() - c[V, V]
            false_vt = vt["detected_episodes"] - vt["detected_episodes_true"]
            print(
                f"| {setting[0]:g} | {setting[1]} | {setting[2] or '-'} | {group} | {c[V, V]} | "
                f"{false_v} | {c[V, Q]} | {c[S, Q]} | "
                f"{100 * c[:NONE, Q].sum() / c[:NONE, :NONE].sum():.2f} | "
                f"{vt['reference_episodes_found']} / {vt['reference_episodes']} | {false_vt} |"
            )
    print_choice(counts)


def print_choice(counts: dict) -> None:
    """Every group pooled: VEB and VT episode F1, and the reference AF time turned to noise.
    The rule kept has the best mean of the two F1s among those losing at most
    MAX_AF_IN_NOISE of the AF time."""
    print("\n| window s | doubtful >= | near | VEB Se / +P | VEB F1 | VT episodes Se / +P "
          "| VT episode F1 | AF s in noise | mean F1 |")  # fmt: skip
    print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    best, best_score = None, -1.0
    for setting, groups_counts in counts.items():
        c = sum(k["confusion"] for k in groups_counts.values())
        vt = pool([k["vt"] for k in groups_counts.values()])
        af_s = sum(k["af_s"] for k in groups_counts.values())
        lost = sum(k["af_in_noise_s"] for k in groups_counts.values())
        veb = beat_statistics(c)  # end to end: missed V beats and extra ones called V count
        veb_se, veb_pp = veb["veb_se"], veb["veb_pp"]
        veb_f1, vt_f1 = f1(veb_se, veb_pp), f1(vt["episode_se"], vt["episode_ppv"])
        score = (veb_f1 + vt_f1) / 2
        if lost <= MAX_AF_IN_NOISE * af_s and score > best_score:
            best, best_score = setting, score
        print(
            f"| {setting[0]:g} | {setting[1]} | {setting[2] or '-'} | "
            f"{100 * veb_se:.2f} / {100 * veb_pp:.2f} | {100 * veb_f1:.2f} | "
            f"{100 * vt['episode_se']:.1f} / {100 * vt['episode_ppv']:.1f} | {100 * vt_f1:.1f} | "
            f"{lost:.0f} of {af_s:.0f} | {100 * score:.2f} |"
        )
    grown = "" if best[2] is None else f", grown over touching windows with {best[2]}"
    print(f"\nkept: {best[1]} doubtful candidates in a {best[0]:g}-s window{grown}")


if __name__ == "__main__":
    main()
