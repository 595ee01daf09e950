"""Small builders shared by tests in several folders (import as `tests.helpers`)."""

from __future__ import annotations

TINY_RR = ("pre_over_local", "pre_over_post", "pre_over_record")
STRIPS = 150  # CinC strips a shrunk pipeline fits the strip AF call on (2 842 in all)
# A smoke run's records (params data.subset): DS1's 101 (the served model's input example),
# 118 (S beats), 119 (bigeminy), 208 (V and F); DS2's 100, 210 (AF, VT; the Holter report's
# record) and 232 (S beats the majority); SVDB records rich in S (822) and in S and V;
# a VFDB record with sustained VT (611) and a CUDB one.
SMOKE_RECORDS = {"ds1": ["101", "118", "119", "208"], "ds2": ["100", "210", "232"],
                 "svdb": ["822", "854", "870"], "vfdb": ["611"], "cudb": ["cu01"]}  # fmt: skip


def smoke_params(mirrors: dict, **train) -> dict:
    """The real params.yaml (parsed) shrunk to a smoke run: SMOKE_RECORDS and the first STRIPS
    CinC strips (data.subset), the expected class counts counted from those records' .atr
    files in `mirrors` (database -> folder), the strip AF call on 3 folds, `train`'s keys
    changed. Every stage runs in minutes.
    The counts map symbols with the table preprocess uses, so they check that every beat
    is kept, not the table: de Chazal's counts do that (tests/test_pipeline_outputs.py)."""
    import copy
    from collections import Counter

    import wfdb

    from arrhythmia.config import load_raw_params
    from arrhythmia.data.aami import SYMBOL_TO_AAMI
    from arrhythmia.data.records import cinc2017_reference
    from tests.conftest import ROOT

    params = load_raw_params(ROOT / "params.yaml")
    cinc2017 = sorted(cinc2017_reference())[:STRIPS]
    params["data"]["subset"] = {**copy.deepcopy(SMOKE_RECORDS), "cinc2017": cinc2017}
    counts = {}
    for split, folder in (("DS1", mirrors["mitdb"]), ("DS2", mirrors["mitdb"]),
                          ("SVDB", mirrors["svdb"])):  # fmt: skip
        symbols = Counter()
        for record in SMOKE_RECORDS[split.lower()]:
            symbols.update(wfdb.rdann(str(folder / record), "atr").symbol)
        counts[split] = {c: 0 for c in "NSVFQ"}
        for symbol, n in symbols.items():
            if symbol in SYMBOL_TO_AAMI:
                counts[split][SYMBOL_TO_AAMI[symbol]] += n
    params["validate_dataset"]["expected_counts"] = counts
    params["train"].update(train)
    params["strip_af"].update(folds=3)
    return params


def tiny_classifier(seed: int = 0, preprocess: dict | None = None):
    """A random-initialised 2-fold ensemble of a very small BeatCNN, in dataset format."""
    import torch

    from arrhythmia.models.bundle import BeatClassifier
    from arrhythmia.models.cnn import BeatCNN, CnnConfig

    torch.manual_seed(seed)
    config = CnnConfig(in_channels=4, window_length=120, n_rr=3, widths=(4, 8))
    states = [BeatCNN(config).state_dict() for _ in range(2)]
    return BeatClassifier(
        config=config,
        state_dicts=states,
        rr_features=TINY_RR,
        decimation=2,
        crop_margin=3,
        fs=360,
        window_pre=90,
        window_length=252,
        preprocess=preprocess or {},
    )


def tiny_detector(excerpt_dir, seed: int = 0):
    """A QRS detector fitted in seconds on the committed 30-s excerpts (few trees)."""
    from arrhythmia.detection.training import TreeSettings, fit_detector, labelled_records

    data = labelled_records(excerpt_dir, ["100", "119", "208", "232"], progress=False)
    settings = TreeSettings(seed=seed, max_iter=60, learning_rate=0.1, max_leaf_nodes=15)
    detector, _ = fit_detector(data, settings)
    return detector


def bad_requests(signal, fs: float) -> dict[str, tuple[dict, str]]:
    """Bodies the served diagnosis must refuse, built from a good samples x leads excerpt:
    name -> (body, what the 400's message must say)."""
    import numpy as np

    good = signal.tolist()
    flat = np.zeros_like(signal)
    return {
        "no fs": ({"inputs": {"ecg": good}}, "fs is required"),
        "fs too low": ({"inputs": {"ecg": good}, "params": {"fs": 5}}, "out of range"),
        "fs too high": ({"inputs": {"ecg": good}, "params": {"fs": 1e6}}, "out of range"),
        "fs not a number": ({"inputs": {"ecg": good}, "params": {"fs": "fast"}}, "fs"),
        "under 10 s": ({"inputs": {"ecg": signal[: int(5 * fs)].tolist()}, "params": {"fs": fs}},
                       "at least 10 s"),
        "1-D": ({"inputs": {"ecg": signal[:, 0].tolist()}, "params": {"fs": fs}}, "shape"),
        "transposed": ({"inputs": {"ecg": signal.T.tolist()}, "params": {"fs": fs}},
                       "leads x samples"),
        "leads mismatch": ({"inputs": {"ecg": good}, "params": {"fs": fs, "leads": ["II"]}},
                           "one name per column"),
        "all flat": ({"inputs": {"ecg": flat.tolist()}, "params": {"fs": fs}}, "flat or missing"),
        "all missing": ({"inputs": {"ecg": [[None, None]] * len(signal)}, "params": {"fs": fs}},
                        "flat or missing"),
        "no ecg": ({"inputs": {"signal": good}, "params": {"fs": fs}}, "ecg"),
        "not numbers": ({"inputs": {"ecg": [["a", "b"]] * 4000}, "params": {"fs": fs}}, "convert"),
    }  # fmt: skip


def assert_no_nan_in_html(html: str) -> None:
    """No "nan" as a word in a page, its embedded images (whose base64 may spell anything)
    left out."""
    import re

    visible = re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", html)
    found = re.findall(r".{40}\bnan\b.{40}", visible, flags=re.I | re.S)
    assert not found, found[:3]


def synthetic_strip(rr_s, p_waves: bool, fs: float = 250.0, seed: int = 0):
    """(beat samples, (n, 1) signal): beats at the given intervals, each with the same P wave
    before it, or 6 Hz atrial waves of random phase instead (fibrillation)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    samples = (np.cumsum(np.r_[1.0, rr_s]) * fs).astype(np.int64)
    signal = rng.normal(0.0, 0.02, samples[-1] + int(fs))
    t = np.arange(-int(0.25 * fs), -int(0.07 * fs))
    for s in samples:
        if p_waves:
            signal[s + t] += 0.15 * np.exp(-(((t + 0.16 * fs) / (0.03 * fs)) ** 2))
        else:
            signal[s + t] += 0.05 * np.sin(2 * np.pi * 6.0 * t / fs + rng.uniform(0, 6.3))
        signal[s - 3 : s + 4] += 1.0  # the QRS
    return samples, signal[:, None]
