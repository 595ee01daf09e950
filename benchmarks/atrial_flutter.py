"""Can atrial flutter be told from atrial fibrillation on the development records? Issue 18
asks for AFL as its own rhythm where MITDB marks it; this prints what the development data
say about the classic measure, before any detector is built on it.

Flutter waves are organised: one atrial cycle at 240-340 per minute repeating alike, so
once each beat's QRS-T is taken away the residual's spectrum has a sharp peak (and its
harmonic); fibrillation's is broad. Per 10-s window lying wholly inside one reference
rhythm, in which every beat is a normally conducted one (MITDB's N: no ectopic beat
leaves its QRS in the residual), on each lead: the dominant frequency of the residual
(3-10 Hz), whether it lies in flutter's 4-5.7 Hz, and its concentration, the power
within 0.3 Hz of that peak and of its harmonic over the 2-20 Hz power. The QRS-T template
of a beat is the median of the 15 N beats around it, taken away from halfway to the
previous beat to halfway to the next (at most 0.25 s before and 0.45 s after). Beats are
the reference beats. Development records only (MITDB DS1: its AF and AFL are in 201 and
203); DS2 is not read.

    python benchmarks/atrial_flutter.py [--mitdb ../shared/data/mitdb]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy.signal import sosfiltfilt
from sklearn.metrics import roc_auc_score

from arrhythmia.data.records import DS1
from arrhythmia.data.wfdb_io import read_beats, read_ecg
from arrhythmia.evaluation.rhythm_scoring import reference_episodes
from arrhythmia.signal.filters import bandpass_sos

WINDOW_S = 10.0
BEAT_S = (0.25, 0.45)  # the QRS-T taken away: from before the P wave to after the T wave
NEIGHBOURS = 7  # N beats each side whose median is a beat's template
PEAK_HZ, TOTAL_HZ, HALF_WIDTH_HZ = (3.0, 10.0), (2.0, 20.0), 0.3
FLUTTER_HZ = (4.0, 5.7)  # 240-340 atrial cycles per minute
RHYTHMS = ("AFL", "AFIB", "N")


class Window(NamedTuple):
    record: str
    lead: int
    rhythm: str
    peak_hz: float
    concentration: float


def atrial_residual(x: np.ndarray, beats: np.ndarray, fs: float) -> np.ndarray:
    """`x` with each beat's local median QRS-T template (of the `beats`, N beats in time
    order) taken away, each over its own stretch: never twice over the same sample."""
    pre, post = (int(s * fs) for s in BEAT_S)
    beats = beats[(beats > pre) & (beats < len(x) - post)]
    segments = x[beats[:, None] + np.arange(-pre, post)]
    halfway = np.r_[0, (beats[1:] + beats[:-1]) // 2, len(x)]
    residual = x.copy()
    for i, at in enumerate(beats):
        template = np.median(segments[max(0, i - NEIGHBOURS) : i + NEIGHBOURS + 1], axis=0)
        start, stop = max(at - pre, halfway[i]), min(at + post, halfway[i + 1])
        residual[start:stop] -= template[start - (at - pre) : stop - (at - pre)]
    return residual


def organisation(window: np.ndarray, fs: float) -> tuple[float, float]:
    """Dominant atrial frequency (Hz) of a residual window and its spectral concentration."""
    spectrum = np.abs(np.fft.rfft((window - window.mean()) * np.hanning(len(window)))) ** 2
    freqs = np.fft.rfftfreq(len(window), 1 / fs)
    band = (freqs >= PEAK_HZ[0]) & (freqs <= PEAK_HZ[1])
    peak = freqs[band][np.argmax(spectrum[band])]
    total = spectrum[(freqs >= TOTAL_HZ[0]) & (freqs <= TOTAL_HZ[1])].sum() + 1e-12
    near = (np.abs(freqs - peak) <= HALF_WIDTH_HZ) | (np.abs(freqs - 2 * peak) <= HALF_WIDTH_HZ)
    return float(peak), float(spectrum[near].sum() / total)


def record_windows(path: Path) -> list[Window]:
    """Each window of `path` in one rhythm whose beats are all N, on each lead."""
    ecg, beats = read_ecg(path), read_beats(path)
    normal = beats.sample[beats.symbol == "N"]
    other = beats.sample[beats.symbol != "N"]
    window, margin = int(WINDOW_S * ecg.fs), int(max(BEAT_S) * ecg.fs)
    band = bandpass_sos(4, 2.0, 30.0, ecg.fs)
    starts = [
        (episode.rhythm, start)
        for episode in reference_episodes(str(path), len(ecg.signal))
        if episode.rhythm in RHYTHMS
        for start in range(max(episode.start, margin), episode.end - window - margin, window)
        if not np.any((other >= start - margin) & (other < start + window + margin))
    ]
    rows = []
    for lead in range(ecg.signal.shape[1]):
        residual = atrial_residual(sosfiltfilt(band, ecg.signal[:, lead]), normal, ecg.fs)
        for rhythm, start in starts:
            peak, share = organisation(residual[start : start + window], ecg.fs)
            rows.append(Window(path.name, lead, rhythm, peak, share))
    return rows


def spread(values: np.ndarray) -> str:
    q25, median, q75 = np.quantile(values, [0.25, 0.5, 0.75])
    return f"{median:.2f} ({q25:.2f}-{q75:.2f})"


def print_table(rows: list[Window]) -> None:
    print("| record | lead | rhythm | windows | dominant Hz, median (q25-q75) | in 4-5.7 Hz "
          "| concentration |\n|---|--:|---|--:|--:|--:|--:|")  # fmt: skip
    for record in sorted({r.record for r in rows}):
        for lead in (0, 1):
            for rhythm in RHYTHMS:
                pick = [r for r in rows if (r.record, r.lead, r.rhythm) == (record, lead, rhythm)]
                if not pick:
                    continue
                hz = np.array([r.peak_hz for r in pick])
                share = np.array([r.concentration for r in pick])
                flutter = np.mean((hz >= FLUTTER_HZ[0]) & (hz <= FLUTTER_HZ[1]))
                print(f"| {record} | {lead} | {rhythm} | {len(pick)} | {spread(hz)} | "
                      f"{100 * flutter:.0f} % | {spread(share)} |")  # fmt: skip


def print_separation(rows: list[Window]) -> None:
    """AUC of the concentration, AFL against AF windows: all of them, and 203's alone."""
    for lead in (0, 1):
        for records, what in ((("201", "203"), "AF of 201 and 203"), (("203",), "AF of 203")):
            mine = [r for r in rows if r.lead == lead and r.record in records]
            afl = [r.concentration for r in mine if r.rhythm == "AFL"]
            af = [r.concentration for r in mine if r.rhythm == "AFIB"]
            area = roc_auc_score([1] * len(afl) + [0] * len(af), afl + af)
            print(f"lead {lead}: AUC of the concentration, AFL ({len(afl)} windows) against "
                  f"{what} ({len(af)}): {area:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", default="../shared/data/mitdb")
    args = parser.parse_args()
    records = [r for r in DS1 if r in ("201", "203")]  # DS1's AF and AFL: development data
    rows = [row for r in records for row in record_windows(Path(args.mitdb) / r)]
    print(f"{WINDOW_S:.0f}-s windows of only N beats, MITDB DS1 records 201 and 203")
    print_table(rows)
    print_separation(rows)


if __name__ == "__main__":
    main()
