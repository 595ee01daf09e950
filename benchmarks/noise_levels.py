"""How noisy NSTDB's records are by the signal-to-noise definition of the QRS detector's
noisy training copies (`arrhythmia.detection.noise`: the signal a sinusoid of the median
QRS peak-to-peak amplitude, the noise by its mean square); prints it per record and lead.

    python benchmarks/noise_levels.py [--mitdb ../shared/data/mitdb] [--nstdb ../shared/data/nstdb]

NSTDB's records are MITDB 118 and 119 plus recorded electrode-motion noise at a nominal
SNR; the noise is their difference (less a constant offset: NSTDB's records have another
baseline). It is measured over the samples where noise was added. Nothing was chosen with
these figures; they say what the training copies' levels correspond to.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from arrhythmia.data.wfdb_io import read_beats, read_ecg
from arrhythmia.detection.noise import qrs_peak_to_peak

SNRS = ("24", "18", "12", "06", "00", "_6")  # NSTDB's nominal dB ("_6" is -6 dB)
ADDED_MV = 0.006  # more than the records' rounding differences: where noise was added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", default="../shared/data/mitdb")
    parser.add_argument("--nstdb", default="../shared/data/nstdb")
    args = parser.parse_args()
    print(f"{'record':<9} {'nominal dB':>10} {'by our definition, per lead (dB)':>34}")
    for source in ("118", "119"):
        record = read_ecg(Path(args.mitdb) / source)
        clean = record.signal.astype(np.float64)
        beats = read_beats(Path(args.mitdb) / source).sample
        power = [qrs_peak_to_peak(clean[:, i], record.fs, beats) ** 2 / 8 for i in range(2)]
        for snr in SNRS:
            noisy = read_ecg(Path(args.nstdb) / f"{source}e{snr}").signal.astype(np.float64)
            added = noisy - clean
            added -= np.median(added, axis=0)
            on = np.abs(added).max(axis=1) > ADDED_MV
            measured = [10 * np.log10(power[i] / np.mean(added[on, i] ** 2)) for i in range(2)]
            cells = " / ".join(f"{m:6.1f}" for m in measured)
            print(f"{source}e{snr:<5} {snr.replace('_', '-'):>10} {cells:>34}")


if __name__ == "__main__":
    main()
