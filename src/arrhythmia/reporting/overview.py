"""The two whole-record plots of the report: the heart-rate trend and the beat-class
timeline under the rhythm episodes. Both stay light on 24-hour records: the trend is binned
and the beat marks are drawn as one image."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.inference.diagnose import Diagnosis
from arrhythmia.inference.outputs import readable_intervals
from arrhythmia.reporting.formatting import clock
from arrhythmia.reporting.legend import (
    CLASS_COLORS,
    UNREADABLE_COLOR,
    by_urgency,
    rhythm_color,
    rhythm_name,
)
from arrhythmia.reporting.svg import figure_svg, new_figure

WIDTH_MM = 260.0
TREND_HEIGHT_MM = 62.0
TIMELINE_HEIGHT_MM = 58.0
TREND_BINS_S = (10, 15, 30, 60)  # the finest that keeps the trend under MAX_TREND_BINS
MAX_TREND_BINS = 400
MIN_INTERVALS_PER_BIN = 2  # one interval is an ectopic beat's, not a rate
TICK_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
MAX_TICKS = 12
FONT = 7.5


def trend_bin_s(duration_s: float) -> int:
    """Per-minute on long records, finer on short ones, so a 30-s excerpt still has a trend."""
    return next((b for b in TREND_BINS_S if duration_s / b <= MAX_TREND_BINS), TREND_BINS_S[-1])


def heart_rate_trend(d: Diagnosis) -> pd.DataFrame:
    """Median and 10th/90th percentile heart rate (bpm) per time bin, indexed by the bin's
    centre in seconds; NaN where a bin has too few readable intervals (the line breaks)."""
    ends, rr = readable_intervals(d)
    bin_s = trend_bin_s(d.n_samples / d.fs)
    n_bins = max(1, int(np.ceil(d.n_samples / d.fs / bin_s)))
    rate = pd.Series(60.0 / rr, dtype=float)
    groups = rate.groupby(np.floor(ends / d.fs / bin_s).astype(int))
    table = pd.DataFrame(
        {
            "median": groups.median(),
            "low": groups.quantile(0.1),
            "high": groups.quantile(0.9),
            "n": groups.size(),
        }
    )
    table.loc[table["n"] < MIN_INTERVALS_PER_BIN, ["median", "low", "high"]] = np.nan
    table = table.reindex(range(n_bins))
    table.index = (table.index + 0.5) * bin_s
    return table.drop(columns="n")


def _time_axis(ax: Axes, duration_s: float) -> None:
    """Ticks at round clock times (every 5 min, 1 h, ...) labelled h:mm:ss from the start."""
    step = next((s for s in TICK_STEPS_S if duration_s / s <= MAX_TICKS), TICK_STEPS_S[-1])
    ax.set_xlim(0, duration_s)
    ax.xaxis.set_major_locator(FixedLocator(np.arange(0, duration_s + 1e-9, step)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: clock(x)))
    ax.tick_params(labelsize=FONT)


def _style(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x", color="#e0e0e0", linewidth=0.5)


def heart_rate_trend_svg(d: Diagnosis) -> str:
    duration_s = d.n_samples / d.fs
    trend = heart_rate_trend(d)
    fig = new_figure(WIDTH_MM, TREND_HEIGHT_MM, layout="constrained")
    ax = fig.add_subplot()
    _style(ax)
    ax.grid(axis="y", color="#eeeeee", linewidth=0.5)
    x = trend.index.to_numpy()
    for a, b in d.unreadable:
        ax.axvspan(a / d.fs, b / d.fs, color=UNREADABLE_COLOR, alpha=0.3, linewidth=0)
    ax.fill_between(x, trend["low"], trend["high"], color="#90caf9", alpha=0.6, linewidth=0)
    ax.plot(x, trend["median"], color="#0d47a1", linewidth=1.2)
    low, high = _rate_range(ax, trend.dropna())
    ax.set_ylim(low, high)
    for limit in (60, 100):  # bradycardia and tachycardia thresholds
        if low < limit < high:
            ax.axhline(limit, color="#9e9e9e", linewidth=0.6, linestyle=(0, (4, 3)))
    if d.pauses:
        starts = np.array([a for a, _ in d.pauses]) / d.fs
        ax.plot(
            starts,
            np.full(len(starts), high),
            linestyle="none",
            marker="v",
            color="#c62828",
            markersize=4,
            clip_on=False,
        )
    _time_axis(ax, duration_s)
    ax.set_ylabel("heart rate (bpm)", fontsize=FONT)
    ax.set_xlabel("time from start (h:mm:ss)", fontsize=FONT)
    _trend_legend(ax, trend_bin_s(duration_s), bool(d.pauses))
    return figure_svg(fig)


def _rate_range(ax, known) -> tuple[float, float]:
    """The heart-rate axis range (bpm) around the known trend; a note where there is none."""
    if known.empty:
        ax.text(
            0.5,
            0.5,
            "no readable beat-to-beat intervals",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=FONT + 1,
            color="#616161",
        )
        return 40.0, 120.0
    low = max(0.0, 10 * np.floor(known["low"].min() / 10) - 10)
    return low, 10 * np.ceil(known["high"].max() / 10) + 10


def _trend_legend(ax, bin_s: int, pauses: bool) -> None:
    handles = [
        Patch(color="#0d47a1", label=f"median per {bin_s} s"),
        Patch(color="#90caf9", label="10th\u201390th percentile"),
        Patch(color=UNREADABLE_COLOR, alpha=0.3, label="unreadable"),
    ]
    if pauses:
        handles.append(ax.plot([], [], "v", color="#c62828", markersize=4, label="pause")[0])
    ax.legend(
        handles=handles,
        fontsize=FONT,
        ncols=len(handles),
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        frameon=False,
        borderaxespad=0.2,
    )


def beat_timeline_svg(d: Diagnosis) -> str:
    """One row per AAMI class with a mark at each beat, under a band of rhythm episodes."""
    duration_s = d.n_samples / d.fs
    fig = new_figure(WIDTH_MM, TIMELINE_HEIGHT_MM, layout="constrained")
    ax = fig.add_subplot()
    _style(ax)
    rows = ["rhythm", *AAMI_CLASSES]
    y = {name: len(rows) - 1 - i for i, name in enumerate(rows)}  # rhythm on top
    rhythms = by_urgency(e.rhythm for e in d.episodes)
    for rhythm in rhythms:
        spans = [
            (e.start / d.fs, (e.end - e.start) / d.fs) for e in d.episodes if e.rhythm == rhythm
        ]
        ax.broken_barh(
            spans, (y["rhythm"] - 0.4, 0.8), facecolors=rhythm_color(rhythm), linewidth=0
        )
    t = d.samples / d.fs
    labels = ["rhythm"]
    for c in AAMI_CLASSES:
        mine = t[d.labels == c]
        labels.append(f"{c} ({len(mine):,})")
        if len(mine):
            # one image for all the marks: 100 000 beats of a day stay a small file
            ax.scatter(
                mine,
                np.full(len(mine), y[c]),
                marker="|",
                s=40,
                linewidths=0.7,
                color=CLASS_COLORS[c],
                rasterized=True,
            )
    ax.set_yticks([y[name] for name in rows], labels, fontsize=FONT)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.tick_params(axis="y", length=0)
    _time_axis(ax, duration_s)
    ax.set_xlabel("time from start (h:mm:ss)", fontsize=FONT)
    handles = [Patch(color=rhythm_color(r), label=f"{r}: {rhythm_name(r)}") for r in rhythms]
    if handles:
        ax.legend(
            handles=handles,
            fontsize=FONT,
            ncols=min(len(handles), 4),
            loc="lower left",
            bbox_to_anchor=(0, 1.0),
            frameon=False,
            borderaxespad=0.2,
        )
    return figure_svg(fig)
