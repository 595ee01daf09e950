"""The Holter-style report of one diagnosed record: one self-contained HTML page (styles and
figures inline, nothing fetched) with the summary a cardiologist reads first, the trends,
the episode list and ECG strips of each beat class and rhythm found."""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from arrhythmia.atomic import write_text
from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.inference.diagnose import Diagnosis
from arrhythmia.reporting.formatting import UNKNOWN, clock, duration, number, percent
from arrhythmia.reporting.legend import (
    CLASS_COLORS,
    CLASS_NAMES,
    ECTOPIC_CLASSES,
    by_urgency,
    rhythm_color,
    rhythm_name,
)
from arrhythmia.reporting.overview import beat_timeline_svg, heart_rate_trend_svg
from arrhythmia.reporting.strips import (
    DISPLAY_BAND_HZ,
    MM_PER_MV,
    MM_PER_S,
    Strip,
    choose_strips,
    draw_strip,
    q_by_rule,
)
from arrhythmia.rhythm.episodes import SINUS

log = logging.getLogger(__name__)

MAX_EPISODE_ROWS = 200  # a day of bigeminy runs is thousands: the JSON has them all
MAX_PAUSE_ROWS = 50


def _package_version() -> str:
    try:
        return version("arrhythmia")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "source"


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("arrhythmia.reporting", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def header(d: Diagnosis, info: dict) -> dict:
    return {
        "record": d.record,
        "leads": ", ".join(d.leads) or UNKNOWN,
        "fs": f"{d.fs:g} Hz",
        "length": clock(d.n_samples / d.fs),
        "model": info.get("model") or UNKNOWN,
        "detector": info.get("detector") or UNKNOWN,
        "beats_from": (
            "QRS detector"
            if d.beats_from == "detector"
            else f"reference annotations (.{d.beats_from})"
        ),
        "version": _package_version(),
    }


def recording_rows(d: Diagnosis, info: dict) -> list[tuple[str, str]]:
    s = info["summary"]
    length_s = d.n_samples / d.fs
    readable_s = max(length_s - s["unreadable_s"], 0.0)
    hr = s["heart_rate_bpm"]
    rows = [
        ("Length", clock(length_s)),
        ("Analysable", f"{clock(readable_s)} ({percent(readable_s, length_s)})"),
        ("Unreadable", f"{clock(s['unreadable_s'])} ({percent(s['unreadable_s'], length_s)})"),
        ("Main rhythm", rhythm_name(s["dominant_rhythm"]) if s["dominant_rhythm"] else UNKNOWN),
        ("Total beats", number(s["n_beats"])),
        ("HR min / mean / max", " / ".join(number(hr[k]) for k in ("min", "mean", "max")) + " bpm"),
        ("Pauses (\u2265 2 s)", number(s["n_pauses"])),
        ("Longest pause", duration(s["longest_pause_s"]) if s["n_pauses"] else UNKNOWN),
    ]
    if "agreement_with_reference" in s:
        agreement = s["agreement_with_reference"]
        rows.append(
            (
                "Agreement with reference",
                UNKNOWN if agreement is None else f"{100 * agreement:.1f} %",
            )
        )
    return rows


def beat_rows(info: dict) -> list[dict]:
    s = info["summary"]
    counts, per_hour = s["beats_per_class"], s["ectopic_beats_per_hour"]
    reference = s.get("reference_beats_per_class")
    return [
        {
            "code": c,
            "name": CLASS_NAMES[c],
            "color": CLASS_COLORS[c],
            "count": number(counts[c]),
            "share": percent(counts[c], s["n_beats"]),
            "per_hour": number(per_hour[c], decimals=1) if c in ECTOPIC_CLASSES else "",
            "reference": number(reference[c]) if reference else None,
        }
        for c in AAMI_CLASSES
    ]


def rhythm_rows(d: Diagnosis, info: dict) -> list[dict]:
    length_s = d.n_samples / d.fs
    seconds = info["summary"]["time_in_rhythm_s"]
    return [
        {
            "code": r,
            "name": rhythm_name(r),
            "color": rhythm_color(r),
            "time": clock(seconds[r]),
            "share": percent(seconds[r], length_s),
            "episodes": sum(1 for e in d.episodes if e.rhythm == r),
        }
        for r in by_urgency(seconds)
    ]


def episode_rows(d: Diagnosis, info: dict) -> list[dict]:
    """Every episode but sinus rhythm, in time order, with its beat count and mean rate."""
    rows = []
    for e in info["episodes"]:
        if e["type"] == SINUS:
            continue
        first, stop = np.searchsorted(d.samples, [e["start_sample"], e["end_sample"]])
        rows.append(
            {
                "code": e["type"],
                "name": rhythm_name(e["type"]),
                "color": rhythm_color(e["type"]),
                "start": clock(e["start_s"]),
                "end": clock(e["end_s"]),
                "duration": duration(e["end_s"] - e["start_s"]),
                "beats": number(stop - first),
                "rate": number(e["mean_heart_rate_bpm"]),
            }
        )
    return rows


def pause_rows(info: dict) -> list[dict]:
    return [
        {"start": clock(p["start_s"], decimals=1), "duration": duration(p["duration_s"])}
        for p in info["pauses"]
    ]


def strip_caption(d: Diagnosis, strip: Strip) -> dict:
    span = f"{clock(strip.start / d.fs)}\u2013{clock(strip.stop / d.fs)}"
    if strip.kind == "beat":
        column = AAMI_CLASSES.index(strip.label)
        at = clock(d.samples[strip.beat] / d.fs, decimals=1)
        title = f"{strip.label} \u00b7 {CLASS_NAMES[strip.label]} beat"
        if not q_by_rule(d, np.array([strip.beat]))[0]:
            p = float(d.proba[strip.beat, column])
            detail = f"the most confident {strip.label} beat (p = {p:.2f}), boxed, at {at}"
        else:
            detail = f"a beat left unclassified (noise, or no class given), boxed, at {at}"
        color = CLASS_COLORS[strip.label]
    else:
        e = strip.episode
        title = f"{strip.label} \u00b7 {rhythm_name(strip.label)}"
        detail = (
            f"onset of the episode {clock(e.start / d.fs)}\u2013{clock(e.end / d.fs)} "
            f"({duration((e.end - e.start) / d.fs)})"
        )
        color = rhythm_color(strip.label)
    return {"title": title, "detail": detail, "span": span, "color": color}


def holter_html(d: Diagnosis, signal: np.ndarray, info: dict) -> str:
    """The page as text; `signal` is (n_samples, leads) in mV at the record's own rate,
    primary lead first, as the diagnosis was made from."""
    signal = np.asarray(signal)
    if signal.ndim == 1:
        signal = signal[:, None]
    if len(signal) != d.n_samples:
        raise ValueError(
            f"record {d.record}: the signal has {len(signal)} samples, the diagnosis {d.n_samples}"
        )
    strips = choose_strips(d)
    log.debug("record %s: drawing %d strips", d.record, len(strips))
    episodes = episode_rows(d, info)
    pauses = pause_rows(info)
    context = {
        "header": header(d, info),
        "recording": recording_rows(d, info),
        "beats": beat_rows(info),
        "has_reference": "reference_beats_per_class" in info["summary"],
        "rhythms": rhythm_rows(d, info),
        "trend_svg": Markup(heart_rate_trend_svg(d)),
        "timeline_svg": Markup(beat_timeline_svg(d)),
        "has_sinus": any(e.rhythm == SINUS for e in d.episodes),
        "episodes": episodes[:MAX_EPISODE_ROWS],
        "episodes_left_out": max(0, len(episodes) - MAX_EPISODE_ROWS),
        "pauses": pauses[:MAX_PAUSE_ROWS],
        "pauses_left_out": max(0, len(pauses) - MAX_PAUSE_ROWS),
        "strips": [
            {**strip_caption(d, s), "svg": Markup(draw_strip(d, signal, s))} for s in strips
        ],
        "paper": f"{MM_PER_S:g} mm/s, {MM_PER_MV:g} mm/mV",
        "display_filter": "{:g}\u2013{:g} Hz".format(*DISPLAY_BAND_HZ),
    }
    return _environment().get_template("holter.html.j2").render(**context)


def render_holter(d: Diagnosis, signal: np.ndarray, info: dict, out_path: str | Path) -> Path:
    """Write the Holter report of one diagnosed record to `out_path` (atomically).

    `info` is the JSON of the same diagnosis (`inference.outputs.diagnosis_json`), so the
    page and the JSON never disagree on a number."""
    out_path = Path(out_path)
    write_text(out_path, holter_html(d, signal, info))
    return out_path
