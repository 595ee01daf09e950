"""The diagnosis never calls a beat premature (S) inside the atrial fibrillation it reports."""

import numpy as np

from arrhythmia.config import PreprocessParams
from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.data.readers import read_record
from arrhythmia.data.wfdb_io import read_beats
from arrhythmia.inference import diagnose as diagnose_module
from arrhythmia.inference.model_handle import ModelHandle
from arrhythmia.rhythm.episodes import Episode


def test_s_calls_inside_reported_af_become_n_in_the_diagnosis(excerpt_dir, params, monkeypatch):
    def always_s(windows, rr, units=None):
        proba = np.full((len(windows), len(AAMI_CLASSES)), 0.05, dtype=np.float32)
        proba[:, AAMI_CLASSES.index("S")] = 0.8
        return proba

    def af_in_the_middle(samples, labels, fs, signal, n_samples, unreadable, noisy=(), **_):
        return [Episode("N", 0, 3600), Episode("AFIB", 3600, 7200), Episode("N", 7200, n_samples)]

    monkeypatch.setattr(diagnose_module, "find_episodes", af_in_the_middle)
    model = ModelHandle(always_s, 360.0, PreprocessParams(**vars(params.preprocess)), "always S")
    ecg = read_record(excerpt_dir / "100")
    d = diagnose_module.diagnose(ecg, model, None, reference=read_beats(excerpt_dir / "100"))

    in_af = (d.samples >= 3600) & (d.samples < 7200)
    assert in_af.any() and (~in_af).any()
    assert set(d.labels[in_af]) == {"N"} and set(d.labels[~in_af]) == {"S"}
    assert (np.array(AAMI_CLASSES)[d.proba.argmax(axis=1)] == d.labels).all()
