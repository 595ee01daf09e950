"""QRS detection on raw ECG: gross Se and +P (150 ms window) on all 48 MITDB records and on
the 12 NSTDB noise-stress records (pooled and per SNR), with seconds per record, for our
detector and, in the same run, its peers.

    python benchmarks/qrs_detection.py [--mitdb ../shared/data/mitdb] [--nstdb ../shared/data/nstdb]

Detectors (whole records; the peers read MLII, ours every lead with MLII first):
- ours: the beats `arrhythmia predict` reports (sleepecg candidates on every lead, fused;
  gradient-boosted keep-or-drop trees; nothing in unreadable stretches or where the rhythm
  detector finds ventricular flutter). "ours, detector only" skips the rhythm step. Fitted
  on DS1 only, here as in the pipeline: DS1 records are scored by trees fitted on the other
  half of DS1 (cross-fitting), the other MITDB records by trees fitted on all of DS1, and
  NSTDB by trees fitted on DS1 without records 118 and 119, whose clean versions NSTDB adds
  noise to. The keep threshold is chosen on DS1 cross-fitted predictions.
- sleepecg: `sleepecg.detect_heartbeats`
- neurokit2: `nk.ecg_clean` + `nk.ecg_peaks`
- xqrs: `wfdb.processing.xqrs_detect` (slow: about 2.5 s a record)

Scoring: every beat annotation (AAMI-mapped symbols) is a reference beat, matched as EC57's
bxb does (`arrhythmia.evaluation.beat_matching`, 150 ms, closest first).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from arrhythmia.config import load_params
from arrhythmia.data.records import ALL_RECORDS, DS1
from arrhythmia.data.wfdb_io import read_beats, read_ecg
from arrhythmia.detection.model import QrsDetector
from arrhythmia.detection.training import (
    NoiseSettings,
    TreeSettings,
    fit_detector,
    labelled_records,
)
from arrhythmia.evaluation.beat_matching import match_beats
from arrhythmia.inference.diagnose import diagnose
from arrhythmia.inference.model_handle import load_model
from arrhythmia.signal.ecg import EcgRecord, primary_lead_first
from arrhythmia.signal.quality import assess_quality

SNRS = ("24", "18", "12", "06", "00", "_6")  # dB; "_6" is -6 dB
NSTDB_RECORDS = [f"{r}e{snr}" for r in ("118", "119") for snr in SNRS]
NOISE_SOURCES = ("118", "119")  # the MITDB records NSTDB's test records are made of

Detect = Callable[[np.ndarray, float, str], np.ndarray]


def sleepecg_detect(ecg: np.ndarray, fs: float, record: str) -> np.ndarray:
    import sleepecg

    return sleepecg.detect_heartbeats(np.ascontiguousarray(ecg[:, 0]), fs)


def neurokit_detect(ecg: np.ndarray, fs: float, record: str) -> np.ndarray:
    import neurokit2 as nk

    cleaned = nk.ecg_clean(ecg[:, 0], sampling_rate=fs)
    return np.asarray(nk.ecg_peaks(cleaned, sampling_rate=fs)[1]["ECG_R_Peaks"])


def xqrs_detect(ecg: np.ndarray, fs: float, record: str) -> np.ndarray:
    from wfdb import processing

    return processing.xqrs_detect(ecg[:, 0], fs, verbose=False)


def ours_detector_only(detectors: dict[str, QrsDetector], fallback: QrsDetector) -> Detect:
    def detect(ecg: np.ndarray, fs: float, record: str) -> np.ndarray:
        beats = detectors.get(record, fallback).detect(ecg, fs)
        return beats[~assess_quality(ecg, fs).mask(beats)]

    return detect


def ours_as_predict(detectors: dict[str, QrsDetector], fallback: QrsDetector, model) -> Detect:
    """The beats `arrhythmia predict` reports: also none where the rhythm detector finds
    ventricular flutter (no QRS complexes there; what fires is flutter waves)."""

    def detect(ecg: np.ndarray, fs: float, record: str) -> np.ndarray:
        record_ = EcgRecord(record, fs, ecg, tuple(f"lead{i}" for i in range(ecg.shape[1])))
        return diagnose(record_, model, detectors.get(record, fallback)).samples

    return detect


def fitted_detectors(
    mitdb: Path, params
) -> tuple[dict[str, QrsDetector], QrsDetector, QrsDetector]:
    """Per-DS1-record cross-fitted detectors, the DS1 detector, the NSTDB detector; fitted
    as the train_detector stage does (`params`: params.yaml's train_detector section)."""
    settings = TreeSettings.from_params(params)
    data = labelled_records(mitdb, DS1, noise=NoiseSettings.from_params(params))
    ds1, info = fit_detector(data, settings)
    print(f"ours: keep threshold {info['threshold']} chosen on DS1 (cross-fitted)")
    per_record = {r: QrsDetector(t, ds1.threshold) for r, t in info["trees_by_record"].items()}
    without_sources, _ = fit_detector([d for d in data if d.record not in NOISE_SOURCES], settings)
    return per_record, ds1, without_sources


def score(detect: Detect, folder: Path, records: list[str]) -> dict[str, tuple]:
    rows = {}
    for record in records:
        ecg = primary_lead_first(read_ecg(folder / record))
        started = time.perf_counter()
        found = detect(ecg.signal, ecg.fs, record)
        seconds = time.perf_counter() - started
        m = match_beats(read_beats(folder / record).sample, found, ecg.fs)
        rows[record] = (m.true_positives, m.missed, m.extra, seconds)
    return rows


def summary(rows: dict, records: list[str]) -> str:
    tp, fn, fp, seconds = (sum(rows[r][i] for r in records) for i in range(4))
    se, pp = 100 * tp / max(tp + fn, 1), 100 * tp / max(tp + fp, 1)
    return f"{se:6.2f} {pp:6.2f} {fn:6d} {fp:6d} {seconds / len(records):7.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", default="../shared/data/mitdb")
    parser.add_argument("--nstdb", default="../shared/data/nstdb")
    parser.add_argument("--skip-xqrs", action="store_true", help="leave out the slow peer")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--model", default="models/cnn.pt", help="beat classifier (for predict)")
    parser.add_argument("--worst", type=int, default=8, help="records listed by errors (ours)")
    args = parser.parse_args()
    mitdb, nstdb = Path(args.mitdb), Path(args.nstdb)

    per_record, ds1, without_sources = fitted_detectors(
        mitdb, load_params(args.params).train_detector
    )
    model = load_model(args.model)
    peers = {"sleepecg": sleepecg_detect, "neurokit2": neurokit_detect}
    if not args.skip_xqrs:
        peers["xqrs"] = xqrs_detect
    header = f"{'detector':<20} {'Se %':>6} {'+P %':>6} {'FN':>6} {'FP':>6} {'s/rec':>7}"
    for name, folder, records, fitted, fallback in (
        ("MITDB, all 48 records", mitdb, list(ALL_RECORDS), per_record, ds1),
        ("NSTDB, 12 records", nstdb, NSTDB_RECORDS, {}, without_sources),
    ):
        detectors = {
            "ours": ours_as_predict(fitted, fallback, model),
            "ours, detector only": ours_detector_only(fitted, fallback),
            **peers,
        }
        print(f"\n{name} (150 ms, gross)\n{header}")
        results = {}
        for label, detect in detectors.items():
            results[label] = score(detect, folder, records)
            print(f"{label:<20} {summary(results[label], records)}", flush=True)
        worst = sorted(records, key=lambda r: -(results["ours"][r][1] + results["ours"][r][2]))
        print("ours, most errors (record: missed, extra): " + ", ".join(
            f"{r}: {results['ours'][r][1]}, {results['ours'][r][2]}" for r in worst[: args.worst]
        ))  # fmt: skip
        if folder == nstdb:
            print("\nNSTDB per SNR: Se / +P (%)")
            print(f"{'SNR dB':<8}" + "".join(f"{label:>21}" for label in detectors))
            for snr in SNRS:
                subset = [r for r in records if r.endswith(f"e{snr}")]
                cells = []
                for label in detectors:
                    tp, fn, fp = (sum(results[label][r][i] for r in subset) for i in range(3))
                    cells.append(f"{100 * tp / (tp + fn):6.2f} / {100 * tp / (tp + fp):6.2f}")
                print(f"{snr.replace('_', '-'):<8}" + "".join(f"{c:>21}" for c in cells))


if __name__ == "__main__":
    main()
