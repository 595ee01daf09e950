"""What `arrhythmia predict` writes for a record: a WFDB annotation file (`.cnn`) that
PhysioNet's tools read as they read MITDB's `.atr` (one AAMI beat label at each R peak,
rhythm changes as `+` with aux notes such as "(AFIB"), and the diagnosis as JSON."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.data.annotation_file import write_annotation_file
from arrhythmia.inference.diagnose import Diagnosis
from arrhythmia.signal.quality import inside

MAX_RR_S = 6.0  # a longer gap is a pause or a lost stretch, not a heart rate
HR_SMOOTHING_BEATS = 8  # heart-rate extremes from a running median, not one odd interval


def _seconds(samples, fs: float) -> float:
    return round(float(samples) / fs, 3)


def _rate_bpm(samples: np.ndarray, fs: float) -> float | None:
    if len(samples) < 2 or samples[-1] <= samples[0]:
        return None
    return round(60.0 * (len(samples) - 1) * fs / float(samples[-1] - samples[0]), 1)


def readable_intervals(d: Diagnosis) -> tuple[np.ndarray, np.ndarray]:
    """The beat-to-beat intervals a heart rate may be read from: (sample of the beat that
    ends each, its length in seconds); none across a pause or an unreadable stretch."""
    unreadable = inside(d.samples, d.unreadable)
    rr = np.diff(d.samples) / d.fs
    usable = (rr > 0) & (rr <= MAX_RR_S) & ~unreadable[1:] & ~unreadable[:-1]
    return d.samples[1:][usable], rr[usable]


def heart_rate(d: Diagnosis) -> dict:
    """Min / mean / max heart rate (bpm) over the readable beat-to-beat intervals."""
    _, rr = readable_intervals(d)
    if len(rr) == 0:
        return {"min": None, "mean": None, "max": None}
    k = min(HR_SMOOTHING_BEATS, len(rr))
    smoothed = np.median(np.lib.stride_tricks.sliding_window_view(rr, k), axis=1)
    return {
        "min": round(float(60.0 / smoothed.max()), 1),
        "mean": round(float(60.0 / rr.mean()), 1),
        "max": round(float(60.0 / smoothed.min()), 1),
    }


def dominant_rhythm(seconds_in_rhythm: dict[str, float]) -> str | None:
    """The rhythm a record spends most time in among those read (a strip's rhythm call);
    "NOISE" where at least half of it is unreadable, so that a mostly unreadable record is
    never given a rhythm; None without any episode."""
    total = sum(seconds_in_rhythm.values())
    noise = seconds_in_rhythm.get("NOISE", 0.0)
    readable = {r: t for r, t in seconds_in_rhythm.items() if r != "NOISE" and t > 0}
    if not total:
        return None
    if noise >= total / 2 or not readable:
        return "NOISE"
    return max(readable, key=lambda rhythm: readable[rhythm])


def time_in_rhythm(d: Diagnosis) -> dict[str, float]:
    """Seconds in each rhythm, summed over its episodes in time order (ms resolution)."""
    in_rhythm: dict[str, float] = {}
    for e in d.episodes:
        in_rhythm[e.rhythm] = round(in_rhythm.get(e.rhythm, 0.0) + (e.end - e.start) / d.fs, 3)
    return in_rhythm


def _episode_rows(d: Diagnosis) -> list[dict]:
    rows = []
    for e in d.episodes:
        beats = d.samples[(d.samples >= e.start) & (d.samples < e.end)]
        rows.append(
            {
                "type": e.rhythm,
                "start_s": _seconds(e.start, d.fs),
                "end_s": _seconds(e.end, d.fs),
                "start_sample": int(e.start),
                "end_sample": int(e.end),
                "mean_heart_rate_bpm": _rate_bpm(beats, d.fs),
            }
        )
    return rows


def _summary(d: Diagnosis) -> dict:
    duration = d.n_samples / d.fs
    unreadable_s = sum(end - start for start, end in d.unreadable) / d.fs
    readable_hours = max(duration - unreadable_s, 0.0) / 3600
    counts = {c: int(np.sum(d.labels == c)) for c in AAMI_CLASSES}
    in_rhythm = time_in_rhythm(d)
    per_hour = {
        c: (round(counts[c] / readable_hours, 1) if readable_hours > 0 else None)
        for c in ("S", "V", "F")
    }
    summary = {
        "n_beats": int(len(d.samples)),
        "beats_per_class": counts,
        "heart_rate_bpm": heart_rate(d),
        "ectopic_beats_per_hour": per_hour,
        "dominant_rhythm": dominant_rhythm(in_rhythm),
        "time_in_rhythm_s": in_rhythm,
        "unreadable_s": round(unreadable_s, 3),
        "n_pauses": len(d.pauses),
        "longest_pause_s": round(max((b - a for a, b in d.pauses), default=0) / d.fs, 3),
    }
    if d.reference is not None:
        summary["reference_beats_per_class"] = {
            c: int(np.sum(d.reference == c)) for c in AAMI_CLASSES
        }
        summary["agreement_with_reference"] = (
            round(float(np.mean(d.labels == d.reference)), 4) if len(d.labels) else None
        )
    return summary


def _beat_rows(d: Diagnosis) -> list[dict]:
    return [
        {
            "sample": int(s),
            "time_s": _seconds(s, d.fs),
            "label": str(label),
            "p": {c: round(float(v), 4) for c, v in zip(AAMI_CLASSES, p, strict=True)},
        }
        for s, label, p in zip(d.samples, d.labels, d.proba, strict=True)
    ]


def diagnosis_json(d: Diagnosis, model: str, detector: str | None) -> dict:
    """The diagnosis as JSON: summary, episodes, pauses and every beat with its probabilities
    (the Holter-style HTML report, `reporting`, is drawn from it)."""
    return {
        "record": d.record,
        "fs": d.fs,
        "leads": list(d.leads),
        "duration_s": round(d.n_samples / d.fs, 3),
        "beats_from": d.beats_from,
        "model": model,
        "detector": detector,
        "summary": _summary(d),
        "episodes": _episode_rows(d),
        "pauses": [
            {
                "start_s": _seconds(a, d.fs),
                "end_s": _seconds(b, d.fs),
                "duration_s": _seconds(b - a, d.fs),
            }
            for a, b in d.pauses
        ],
        "unreadable": [
            {"start_s": _seconds(a, d.fs), "end_s": _seconds(b, d.fs)} for a, b in d.unreadable
        ],
        "beats": _beat_rows(d),
    }


def annotations(d: Diagnosis) -> tuple[np.ndarray, list[str], list[str]]:
    """Sample, symbol and aux note of every annotation, in time order; at one sample a
    rhythm change comes before the beat."""
    samples = [int(e.start) for e in d.episodes] + [int(s) for s in d.samples]
    symbols = ["+"] * len(d.episodes) + [str(label) for label in d.labels]
    aux = [f"({e.rhythm}" for e in d.episodes] + [""] * len(d.samples)
    order = sorted(range(len(samples)), key=lambda i: (samples[i], symbols[i] != "+"))
    return (
        np.array([samples[i] for i in order], dtype=np.int64),
        [symbols[i] for i in order],
        [aux[i] for i in order],
    )


def write_diagnosis(
    d: Diagnosis, out_dir: str | Path, info: dict, extension: str = "cnn"
) -> tuple[Path, Path]:
    """`<out>/<record>.cnn` and `<out>/<record>.json`, both written in a scratch folder
    beside them first, so each lands whole or not at all."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{d.record}.{extension}"
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".predict-") as tmp:
        json_tmp = Path(tmp) / "record.json"
        with json_tmp.open("w") as handle:
            # streamed into the file: as one string, the indenting encoder would hold every
            # token of a Holter day's JSON at once (the peak of a 24-hour record's memory)
            json.dump(info, handle, indent=2, allow_nan=False)  # a NaN here is a bug: fail
            handle.write("\n")
        samples, symbols, aux = annotations(d)
        write_annotation_file(Path(tmp) / f"record.{extension}", samples, symbols, aux, d.fs)
        os.replace(Path(tmp) / f"record.{extension}", target)
        json_path = out_dir / f"{d.record}.json"
        os.replace(json_tmp, json_path)
    return target, json_path
