"""ECG strips on standard paper: which stretches of the record to show (an example of each
beat class and of each rhythm found) and how to draw them at 25 mm/s and 10 mm/mV on a
1 mm / 5 mm grid, with each beat's label above it and the rhythm as a bar on top."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.patches import Rectangle
from scipy import signal as sps

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.inference.diagnose import Diagnosis
from arrhythmia.reporting.formatting import clock
from arrhythmia.reporting.legend import CLASS_COLORS, by_urgency, rhythm_color
from arrhythmia.reporting.svg import figure_svg, new_figure
from arrhythmia.rhythm.episodes import SINUS, Episode
from arrhythmia.signal.filters import bandpass_sos

STRIP_S = 10.0
MM_PER_S = 25.0  # paper speed
MM_PER_MV = 10.0  # gain
ONSET_LEAD_IN_S = 2.0  # an episode's strip starts a little before it, so its onset shows
PER_RHYTHM = 2  # examples of each rhythm
MAX_STRIPS = 16  # a 24-hour record must not give a page of hundreds of strips
MAX_LEADS = 3
# Layout in mm, multiples of 5 so the bands sit on the major grid lines.
LEFT_MM = 10.0  # calibration pulse and lead name
RHYTHM_BAR_MM = 5.0
LABEL_ROW_MM = 5.0
LEAD_BAND_MM = 35.0
BASELINE_MM = 15.0  # from the bottom of a lead's band: QRS complexes reach higher than lower
TIME_ROW_MM = 5.0
DISPLAY_BAND_HZ = (0.5, 40.0)  # a monitor's display filter: no baseline wander, no hiss
FILTER_PAD_S = 2.0
PAPER = "#fffafa"
MINOR_LINE = ("#f5c6c6", 0.3)  # colour, width in points
MAJOR_LINE = ("#e38b8b", 0.7)
FOCUS_COLOR = "#fff5c4"  # under the example beat, behind the trace
FOCUS_HALF_WIDTH_MM = 4.0


@dataclass(frozen=True)
class Strip:
    start: int  # first sample shown, at the record's rate
    stop: int
    kind: str  # "beat" or "rhythm"
    label: str  # the AAMI class or the rhythm
    beat: int | None = None  # the example beat's index
    episode: Episode | None = None


def _window(centre_or_start: float, d: Diagnosis, *, centred: bool) -> tuple[int, int]:
    """STRIP_S of signal from a whole second (the time marks then fall on grid lines)."""
    length = min(int(round(STRIP_S * d.fs)), d.n_samples)
    start_s = centre_or_start / d.fs - (STRIP_S / 2 if centred else ONSET_LEAD_IN_S)
    start = int(np.floor(max(start_s, 0.0)) * d.fs)
    start = min(start, d.n_samples - length)
    return start, start + length


def q_by_rule(d: Diagnosis, beats: np.ndarray) -> np.ndarray:
    """Which of `beats` are Q by rule, not by the network: inside a noisy stretch, or
    without finite class probabilities (the network's most probable class is not Q)."""
    proba = d.proba[beats]
    finite = np.isfinite(proba).all(axis=1)
    top = np.argmax(np.where(np.isfinite(proba), proba, -np.inf), axis=1)
    return (d.labels[beats] == "Q") & (~finite | (top != AAMI_CLASSES.index("Q")))


def beat_examples(d: Diagnosis) -> list[Strip]:
    """For each class found, the strip centred on its most confident beat; for Q, one the
    network itself called Q when there is one (a Q given by rule is not a confident Q)."""
    strips = []
    for column, c in enumerate(AAMI_CLASSES):
        mine = np.flatnonzero(d.labels == c)
        if len(mine) == 0:
            continue
        by_network = mine[~q_by_rule(d, mine)]
        mine = by_network if len(by_network) else mine
        confidence = np.nan_to_num(d.proba[mine, column], nan=-1.0)
        best = int(mine[np.argmax(confidence)])
        start, stop = _window(d.samples[best], d, centred=True)
        strips.append(Strip(start, stop, "beat", c, beat=best))
    return strips


def rhythm_examples(d: Diagnosis, per_rhythm: int = PER_RHYTHM) -> list[list[Strip]]:
    """For each rhythm other than sinus, most urgent first: the onsets of its longest
    episodes (at most `per_rhythm`, not two in one strip)."""
    examples = []
    for rhythm in by_urgency(e.rhythm for e in d.episodes if e.rhythm != SINUS):
        mine = sorted(
            (e for e in d.episodes if e.rhythm == rhythm), key=lambda e: (e.start - e.end, e.start)
        )
        chosen: list[Strip] = []
        for e in mine:
            start, stop = _window(e.start, d, centred=False)
            if all(stop <= s.start or start >= s.stop for s in chosen):
                chosen.append(Strip(start, stop, "rhythm", rhythm, episode=e))
            if len(chosen) == per_rhythm:
                break
        examples.append(sorted(chosen, key=lambda s: s.start))
    return examples


def choose_strips(d: Diagnosis, max_strips: int = MAX_STRIPS) -> list[Strip]:
    """Beat-class examples, then rhythm examples: every rhythm's first before any second,
    so the cap drops repeats before it drops a rhythm."""
    strips = beat_examples(d)[:max_strips]
    per_rhythm = rhythm_examples(d)
    kept: list[list[Strip]] = [[] for _ in per_rhythm]
    for rank in range(PER_RHYTHM):
        for i, examples in enumerate(per_rhythm):
            if rank < len(examples) and len(strips) + sum(map(len, kept)) < max_strips:
                kept[i].append(examples[rank])
    return strips + [s for examples in kept for s in examples]


def display_trace(signal: np.ndarray, fs: float, start: int, stop: int) -> np.ndarray:
    """The strip's samples (n, leads) in mV through the display filter, each lead's
    baseline at 0; padded on both sides for the filter, so the strip's edges do not ring."""
    pad = int(FILTER_PAD_S * fs)
    lo, hi = max(0, start - pad), min(len(signal), stop + pad)
    piece = np.nan_to_num(np.asarray(signal[lo:hi], dtype=np.float64))
    low, high = DISPLAY_BAND_HZ
    band = bandpass_sos(2, low, min(high, 0.45 * fs), fs)
    if len(piece) > 3 * (2 * len(band) + 1):  # what sosfiltfilt pads each end with
        piece = sps.sosfiltfilt(band, piece, axis=0)
    piece = piece[start - lo : stop - lo]
    return piece - np.median(piece, axis=0) if len(piece) else piece


def _grid(ax, width_mm: float, height_mm: float) -> None:
    for step, (color, width) in ((1.0, MINOR_LINE), (5.0, MAJOR_LINE)):
        xs = np.arange(0.0, width_mm + 1e-6, step)
        ys = np.arange(0.0, height_mm + 1e-6, step)
        if step == 1.0:  # the minor lines under the major ones are not drawn twice
            xs, ys = xs[np.round(xs) % 5 != 0], ys[np.round(ys) % 5 != 0]
        lines = [[(x, 0), (x, height_mm)] for x in xs] + [[(0, y), (width_mm, y)] for y in ys]
        ax.add_collection(LineCollection(lines, colors=color, linewidths=width))


def _calibration_pulse(ax, baseline_mm: float) -> None:
    """The 1 mV, 200 ms square pulse that shows the gain, as on any ECG printout."""
    x = [1.0, 2.5, 2.5, 7.5, 7.5, 9.0]
    y = np.array([0, 0, MM_PER_MV, MM_PER_MV, 0, 0]) + baseline_mm
    ax.plot(x, y, color="black", linewidth=0.8, solid_joinstyle="miter")


def draw_strip(d: Diagnosis, signal: np.ndarray, strip: Strip) -> str:
    """The strip as SVG at true size: 25 mm per second, 10 mm per mV."""
    leads = d.leads[:MAX_LEADS]
    duration_s = (strip.stop - strip.start) / d.fs
    width = LEFT_MM + duration_s * MM_PER_S
    height = TIME_ROW_MM + LEAD_BAND_MM * len(leads) + LABEL_ROW_MM + RHYTHM_BAR_MM
    fig = new_figure(width, height)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    ax.add_patch(Rectangle((0, 0), width, height, color=PAPER, zorder=0))
    _grid(ax, width, height)

    def at(sample) -> float:
        return LEFT_MM + (sample - strip.start) / d.fs * MM_PER_S

    trace = display_trace(signal[:, : len(leads)], d.fs, strip.start, strip.stop)
    _traces(ax, trace, d.fs, leads)
    _beat_labels(ax, d, strip, at, width, label_y=height - RHYTHM_BAR_MM - LABEL_ROW_MM / 2)
    _rhythm_bar(ax, d, strip, at, bar_bottom=height - RHYTHM_BAR_MM + 0.8)
    first_second = int(np.ceil(strip.start / d.fs))
    for second in range(first_second, int(strip.stop / d.fs) + 1):
        if LEFT_MM + 4 <= at(second * d.fs) <= width - 4:
            ax.text(
                at(second * d.fs),
                TIME_ROW_MM / 2,
                clock(second),
                fontsize=5.5,
                ha="center",
                va="center",
                color="#616161",
            )
    return figure_svg(fig)


def _traces(ax, trace: np.ndarray, fs: float, leads: Sequence[str]) -> None:
    """Each lead in its own band, with its calibration pulse and name."""
    x = LEFT_MM + np.arange(len(trace)) / fs * MM_PER_S
    for k, lead in enumerate(leads):
        bottom = TIME_ROW_MM + LEAD_BAND_MM * (len(leads) - 1 - k)
        baseline = bottom + BASELINE_MM
        # a wild excursion stays in its own band instead of scribbling over the next lead
        y = np.clip(baseline + trace[:, k] * MM_PER_MV, bottom + 0.5, bottom + LEAD_BAND_MM - 0.5)
        ax.plot(x, y, color="black", linewidth=0.6, solid_joinstyle="round")
        _calibration_pulse(ax, baseline)
        ax.text(
            1.0,
            bottom + LEAD_BAND_MM - 1.0,
            lead,
            fontsize=6.5,
            va="top",
            ha="left",
            color="#424242",
        )


def _beat_labels(ax, d: Diagnosis, strip: Strip, at, width: float, label_y: float) -> None:
    """Each beat's class letter above the traces; the strip's example beat highlighted."""
    shown = np.flatnonzero((d.samples >= strip.start) & (d.samples < strip.stop))
    for i in shown:
        if not LEFT_MM + 1.5 <= at(d.samples[i]) <= width - 1.5:
            continue  # half a letter at the edge reads as a different letter
        box = None
        if i == strip.beat:  # the example beat the strip is about
            ax.add_patch(
                Rectangle(
                    (at(d.samples[i]) - FOCUS_HALF_WIDTH_MM, TIME_ROW_MM),
                    2 * FOCUS_HALF_WIDTH_MM,
                    label_y - TIME_ROW_MM,
                    color=FOCUS_COLOR,
                    linewidth=0,
                    zorder=0.5,
                )
            )
            box = {
                "boxstyle": "round,pad=0.15",
                "facecolor": "white",
                "edgecolor": CLASS_COLORS[d.labels[i]],
                "linewidth": 0.8,
            }
        ax.text(
            at(d.samples[i]),
            label_y,
            d.labels[i],
            fontsize=7,
            fontweight="bold",
            ha="center",
            va="center",
            color=CLASS_COLORS[d.labels[i]],
            bbox=box,
        )


def _rhythm_bar(ax, d: Diagnosis, strip: Strip, at, bar_bottom: float) -> None:
    """The rhythm episodes under the strip, named where there is room."""
    for e in d.episodes:
        a, b = max(e.start, strip.start), min(e.end, strip.stop)
        if a >= b:
            continue
        ax.add_patch(
            Rectangle(
                (at(a), bar_bottom),
                at(b) - at(a),
                RHYTHM_BAR_MM - 1.6,
                color=rhythm_color(e.rhythm),
                linewidth=0,
            )
        )
        if at(b) - at(a) >= 8:
            ax.text(
                at(a) + 1.0,
                bar_bottom + (RHYTHM_BAR_MM - 1.6) / 2,
                e.rhythm,
                fontsize=6,
                va="center",
                ha="left",
                color="#212121",
            )
