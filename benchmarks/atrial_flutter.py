"""Can atrial flutter be told from atrial fibrillation on the development records? Issue 18
asks for AFL as its own rhythm where MITDB marks it; this prints what the development data
say about the classic measure, before any detector is built on it.

Flutter waves are organised: one atrial cycle at 240-340 per minute repeating alike, so
once each beat's QRS-T is taken away the residual's spectrum has a sharp peak (and its
harmonic); fibrillation's is broad. Per 10-s window lying wholly inside one reference
rhythm, on each lead: the dominant frequency of the residual (3-10 Hz) and its
concentration, the power within 0.3 Hz of that peak and of its harmonic over the 2-20 Hz
power. Beats are the reference beats; the QRS-T template is the median of the 15 beats
around each beat. Development records only (MITDB DS1: its AF and AFL are in 201 and 203);
DS2 is not read.

    python benchmarks/atrial_flutter.py [--mitdb ../shared/data/mitdb]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.signal import sosfiltfilt

from arrhythmia.data.records import DS1
from arrhythmia.data.wfdb_io import read_beats, read_ecg
from arrhythmia.evaluation.rhythm_scoring import reference_episodes
from arrhythmia.signal.filters import bandpass_sos

WINDOW_S = 10.0
BEAT_S = (0.25, 0.45)  # the QRS-T taken away: from before the P wave to after the T wave
NEIGHBOURS = 7  # beats each side whose median is a beat's template
PEAK_HZ, TOTAL_HZ, HALF_WIDTH_HZ = (3.0, 10.0), (2.0, 20.0), 0.3
RHYTHMS = ("AFL", "AFIB", "N")


def atrial_residual(x: np.ndarray, beats: np.ndarray, fs: float) -> np.ndarray:
    """`x` with each beat's local median QRS-T template subtracted."""
    pre, post = (int(s * fs) for s in BEAT_S)
    beats = beats[(beats > pre) & (beats < len(x) - post)]
    segments = x[beats[:, None] + np.arange(-pre, post)]
    residual = x.copy()
    for i, at in enumerate(beats):
        near = segments[max(0, i - NEIGHBOURS) : i + NEIGHBOURS + 1]
        residual[at - pre : at + post] -= np.median(near, axis=0)
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


def record_windows(path: Path) -> list[tuple[str, int, float, float]]:
    """(rhythm, lead, dominant frequency, concentration) of each window in one rhythm."""
    ecg = read_ecg(path)
    beats = read_beats(path).sample
    window = int(WINDOW_S * ecg.fs)
    rows = []
    for lead in range(ecg.signal.shape[1]):
        band = bandpass_sos(4, 2.0, 30.0, ecg.fs)
        residual = atrial_residual(sosfiltfilt(band, ecg.signal[:, lead]), beats, ecg.fs)
        for episode in reference_episodes(str(path), len(residual)):
            if episode.rhythm not in RHYTHMS:
                continue
            for start in range(episode.start, episode.end - window + 1, window):
                peak, share = organisation(residual[start : start + window], ecg.fs)
                rows.append((episode.rhythm, lead, peak, share))
    return rows


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Probability that a positive window scores above a negative one (ties count half)."""
    greater = (positive[:, None] > negative[None, :]).mean()
    ties = (positive[:, None] == negative[None, :]).mean()
    return float(greater + ties / 2)


def spread(values: np.ndarray) -> str:
    q25, median, q75 = np.quantile(values, [0.25, 0.5, 0.75])
    return f"{median:.2f} ({q25:.2f}-{q75:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", default="../shared/data/mitdb")
    args = parser.parse_args()
    records = [r for r in DS1 if r in ("201", "203")]  # DS1's AF and AFL: development data
    rows = [(r, *row) for r in records for row in record_windows(Path(args.mitdb) / r)]
    print(f"{WINDOW_S:.0f}-s windows of MITDB DS1 records 201 and 203 (development data)")
    print("| record | lead | rhythm | windows | dominant Hz, median (q25-q75) | concentration |")
    print("|---|--:|---|--:|--:|--:|")
    for record in records:
        for lead in (0, 1):
            for rhythm in RHYTHMS:
                pick = np.array([r[3:] for r in rows if r[:3] == (record, rhythm, lead)])
                if len(pick):
                    print(f"| {record} | {lead} | {rhythm} | {len(pick)} | "
                          f"{spread(pick[:, 0])} | {spread(pick[:, 1])} |")  # fmt: skip
    for lead in (0, 1):
        share = {r: np.array([x[4] for x in rows if x[1] == r and x[2] == lead]) for r in RHYTHMS}
        print(f"lead {lead}: AUC of the concentration, AFL against AF windows: "
              f"{auc(share['AFL'], share['AFIB']):.2f} ({len(share['AFL'])} AFL windows, "
              f"all in 203)")  # fmt: skip


if __name__ == "__main__":
    main()
