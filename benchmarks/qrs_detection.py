"""QRS detection on raw ECG: gross Se and +P (150 ms window) on all 48 MITDB records and on
the 12 NSTDB noise-stress records (pooled and per SNR), with seconds per record, for the
peers and, in the same run, a two-lead prototype for the diagnosis issue.

    python benchmarks/qrs_detection.py [--mitdb ../shared/data/mitdb] [--nstdb ../shared/data/nstdb]

Detectors (whole records, first signal = MLII unless said otherwise):
- sleepecg: `sleepecg.detect_heartbeats`
- neurokit2: `nk.ecg_clean` + `nk.ecg_peaks`
- xqrs: `wfdb.processing.xqrs_detect`
- two-lead prototype: sleepecg on each lead; the union of their detections are candidates,
  and a gradient-boosted classifier keeps or drops each one (features: which leads found it,
  band-passed amplitude and template correlation per lead, spacing against the local RR).
  It is trained on DS1 candidates only: DS1 records are scored by a model fitted on the
  other half of DS1, all other records by the model fitted on DS1 (for NSTDB, on DS1
  without records 118 and 119, whose clean versions NSTDB adds noise to). Its threshold is
  chosen on the DS1 cross-fitted predictions. A prototype for the diagnosis issue, not yet
  part of `arrhythmia predict`.

Scoring: every beat annotation (AAMI-mapped symbols) is a reference beat; a detection
within 150 ms of an unmatched reference beat is a true positive (nearest first).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import wfdb
from scipy import signal as sps

from arrhythmia.data.aami import SYMBOL_TO_AAMI
from arrhythmia.data.records import ALL_RECORDS, DS1

MATCH_S = 0.15
PAIR_S = 0.10  # detections on the two leads closer than this are one candidate
SNRS = ("24", "18", "12", "06", "00", "_6")  # dB; "_6" is -6 dB
NSTDB_RECORDS = [f"{r}e{snr}" for r in ("118", "119") for snr in SNRS]


def reference_beats(path: Path) -> np.ndarray:
    ann = wfdb.rdann(str(path), "atr")
    return np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in SYMBOL_TO_AAMI])


def match(ref: np.ndarray, detected: np.ndarray, tolerance: int) -> tuple[int, int, int]:
    """(true positives, false negatives, false positives), nearest unmatched detection first."""
    detected = np.sort(np.asarray(detected, dtype=np.int64))
    used = np.zeros(len(detected), dtype=bool)
    tp = 0
    for r in ref:
        lo, hi = np.searchsorted(detected, [r - tolerance, r + tolerance + 1])
        free = [k for k in range(lo, hi) if not used[k]]
        if free:
            used[min(free, key=lambda k: abs(detected[k] - r))] = True
            tp += 1
    return tp, len(ref) - tp, len(detected) - tp


# --- peers -----------------------------------------------------------------------------------


def sleepecg_detect(ecg: np.ndarray, fs: float) -> np.ndarray:
    import sleepecg

    return sleepecg.detect_heartbeats(ecg[:, 0], fs)


def neurokit_detect(ecg: np.ndarray, fs: float) -> np.ndarray:
    import neurokit2 as nk

    cleaned = nk.ecg_clean(ecg[:, 0], sampling_rate=fs)
    return np.asarray(nk.ecg_peaks(cleaned, sampling_rate=fs)[1]["ECG_R_Peaks"])


def xqrs_detect(ecg: np.ndarray, fs: float) -> np.ndarray:
    from wfdb import processing

    return processing.xqrs_detect(ecg[:, 0], fs, verbose=False)


# --- the two-lead prototype ------------------------------------------------------------------


def candidates(ecg: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions and lead flags (1: lead 0 only, 2: lead 1 only, 3: both) of the union of
    sleepecg's detections on the first two leads."""
    import sleepecg

    d0 = sleepecg.detect_heartbeats(ecg[:, 0], fs)
    if ecg.shape[1] < 2:
        return d0, np.full(len(d0), 3)
    d1 = sleepecg.detect_heartbeats(ecg[:, 1], fs)
    pair = int(PAIR_S * fs)
    used = np.zeros(len(d1), dtype=bool)
    found = []
    for s in d0:
        k = np.searchsorted(d1, s)
        near = [
            j for j in (k - 1, k) if 0 <= j < len(d1) and not used[j] and abs(d1[j] - s) <= pair
        ]
        if near:
            used[min(near, key=lambda j: abs(d1[j] - s))] = True
        found.append((s, 3 if near else 1))
    found += [(s, 2) for s in d1[~used]]
    found.sort()
    return np.array([f[0] for f in found], dtype=np.int64), np.array([f[1] for f in found])


def candidate_features(
    ecg: np.ndarray, fs: float, pos: np.ndarray, leads: np.ndarray
) -> np.ndarray:
    x = ecg[:, :2] if ecg.shape[1] >= 2 else np.repeat(ecg[:, :1], 2, axis=1)
    b, a = sps.butter(2, [5 / (fs / 2), 25 / (fs / 2)], "band")
    f = sps.filtfilt(b, a, x, axis=0)
    n, half, wide = len(f), int(0.05 * fs), int(0.1 * fs)
    both = leads == 3
    anchor = both if both.sum() > 10 else np.ones(len(pos), dtype=bool)
    amp = np.abs(f[np.clip(pos[:, None] + np.arange(-half, half + 1), 0, n - 1)]).max(axis=1)
    amp = amp / (np.median(amp[anchor], axis=0) + 1e-9)
    win = f[np.clip(pos[:, None] + np.arange(-wide, wide + 1), 0, n - 1)]
    win = win - win.mean(axis=1, keepdims=True)
    tmpl = np.median(win[anchor], axis=0)
    corr = (win * tmpl).sum(axis=1) / (np.sqrt((win**2).sum(axis=1) * (tmpl**2).sum(axis=0)) + 1e-9)
    beats = pos[anchor]
    rr = np.diff(beats) if len(beats) > 2 else np.array([fs])
    k = np.searchsorted(beats, pos)
    local = np.array(
        [np.median(rr[max(0, j - 10) : max(1, min(len(rr), j + 10))]) for j in k], dtype=float
    )
    cap = 10 * fs
    prev = np.minimum(np.r_[cap, np.diff(pos)], cap)
    nxt = np.minimum(np.r_[np.diff(pos), cap], cap)
    pairs = list(zip(pos, k, strict=True))
    to_prev = np.array([p - beats[j - 1] if j > 0 else cap for p, j in pairs])
    to_next = np.array([beats[j] - p if j < len(beats) else cap for p, j in pairs])
    return np.column_stack([
        leads == 1, leads == 2, leads == 3, amp, corr, prev / local, nxt / local,
        np.minimum(to_prev, cap) / local, np.minimum(to_next, cap) / local, local / fs,
    ]).astype(np.float32)  # fmt: skip


class TwoLeadPrototype:
    def __init__(self, mitdb: Path):
        self.mitdb = mitdb
        self.data: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for record in DS1:
            ecg, fs = read(mitdb / record)
            pos, leads = candidates(ecg, fs)
            truth = self._truth(reference_beats(mitdb / record), pos, leads, int(MATCH_S * fs))
            self.data[record] = (candidate_features(ecg, fs, pos, leads), truth, pos)
        halves = (list(DS1[::2]), list(DS1[1::2]))
        self.fold_model = {r: self._fit(halves[1 - i]) for i, h in enumerate(halves) for r in h}
        self.ds1_model = self._fit(list(DS1))
        self.nstdb_model = self._fit([r for r in DS1 if r not in ("118", "119")])
        self.threshold = self._choose_threshold()

    @staticmethod
    def _truth(ref: np.ndarray, pos: np.ndarray, leads: np.ndarray, tol: int) -> np.ndarray:
        truth = np.zeros(len(pos), dtype=bool)
        used = np.zeros(len(ref), dtype=bool)
        for i in np.argsort(-leads, kind="stable"):  # two-lead candidates claim beats first
            lo, hi = np.searchsorted(ref, [pos[i] - tol, pos[i] + tol + 1])
            free = [k for k in range(lo, hi) if not used[k]]
            if free:
                used[min(free, key=lambda k: abs(ref[k] - pos[i]))] = True
                truth[i] = True
        return truth

    def _fit(self, records: list[str]):
        from sklearn.ensemble import HistGradientBoostingClassifier

        x = np.concatenate([self.data[r][0] for r in records])
        y = np.concatenate([self.data[r][1] for r in records])
        return HistGradientBoostingClassifier(max_iter=300, random_state=0).fit(x, y)

    def _choose_threshold(self) -> float:
        """Maximise min(Se, +P) of the DS1 cross-fitted predictions (DS1 only)."""
        scores = {}
        probs = {r: self.fold_model[r].predict_proba(self.data[r][0])[:, 1] for r in DS1}
        n_ref = {r: len(reference_beats(self.mitdb / r)) for r in DS1}
        for threshold in np.round(np.arange(0.2, 0.81, 0.05), 2):
            tp = sum(int((probs[r] >= threshold)[self.data[r][1]].sum()) for r in DS1)
            kept = sum(int((probs[r] >= threshold).sum()) for r in DS1)
            scores[threshold] = min(tp / sum(n_ref.values()), tp / max(kept, 1))
        return float(max(scores, key=scores.get))

    def detector(self, database: str) -> Callable[[np.ndarray, float, str], np.ndarray]:
        def detect(ecg: np.ndarray, fs: float, record: str) -> np.ndarray:
            pos, leads = candidates(ecg, fs)
            if database == "nstdb":
                model = self.nstdb_model
            else:
                model = self.fold_model.get(record, self.ds1_model)
            p = model.predict_proba(candidate_features(ecg, fs, pos, leads))[:, 1]
            return pos[p >= self.threshold]

        return detect


# --- the run ---------------------------------------------------------------------------------


def read(path: Path) -> tuple[np.ndarray, float]:
    record = wfdb.rdrecord(str(path))
    return np.nan_to_num(record.p_signal), float(record.fs)


def score(detect, folder: Path, records: list[str]) -> dict[str, tuple[int, int, int, float]]:
    rows = {}
    for record in records:
        ecg, fs = read(folder / record)
        started = time.perf_counter()
        found = detect(ecg, fs, record)
        seconds = time.perf_counter() - started
        rows[record] = (*match(reference_beats(folder / record), found, int(MATCH_S * fs)), seconds)
    return rows


def summary(rows: dict, records: list[str]) -> str:
    tp, fn, fp, seconds = (sum(rows[r][i] for r in records) for i in range(4))
    se, pp = 100 * tp / max(tp + fn, 1), 100 * tp / max(tp + fp, 1)
    return f"{se:6.2f} {pp:6.2f} {fn:6d} {fp:6d} {seconds / len(records):7.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", default="../shared/data/mitdb")
    parser.add_argument("--nstdb", default="../shared/data/nstdb")
    args = parser.parse_args()
    mitdb, nstdb = Path(args.mitdb), Path(args.nstdb)

    prototype = TwoLeadPrototype(mitdb)
    print(f"two-lead prototype: threshold {prototype.threshold} chosen on DS1 (cross-fitted)")
    peers = {
        "sleepecg": lambda ecg, fs, record: sleepecg_detect(ecg, fs),
        "neurokit2": lambda ecg, fs, record: neurokit_detect(ecg, fs),
        "xqrs": lambda ecg, fs, record: xqrs_detect(ecg, fs),
    }
    header = f"{'detector':<20} {'Se %':>6} {'+P %':>6} {'FN':>6} {'FP':>6} {'s/rec':>7}"
    for name, folder, records in (
        ("MITDB, all 48 records", mitdb, list(ALL_RECORDS)),
        ("NSTDB, 12 records", nstdb, NSTDB_RECORDS),
    ):
        database = "nstdb" if folder == nstdb else "mitdb"
        detectors = {**peers, "two-lead prototype": prototype.detector(database)}
        print(f"\n{name} (150 ms, gross)\n{header}")
        results = {}
        for label, detect in detectors.items():
            results[label] = score(detect, folder, records)
            print(f"{label:<20} {summary(results[label], records)}", flush=True)
        if database == "nstdb":
            print("\nNSTDB per SNR: Se / +P (%)")
            print(f"{'SNR dB':<8}" + "".join(f"{label:>22}" for label in detectors))
            for snr in SNRS:
                subset = [r for r in records if r.endswith(f"e{snr}")]
                cells = []
                for label in detectors:
                    tp, fn, fp = (sum(results[label][r][i] for r in subset) for i in range(3))
                    cells.append(f"{100 * tp / (tp + fn):6.2f} / {100 * tp / (tp + fp):6.2f}")
                print(f"{snr.replace('_', '-'):<8}" + "".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()
