"""A made-up diagnosed record for the report's tests: known beats, classes, episodes and an
unreadable stretch, with a signal that has a spike at each beat; no model needed."""

from __future__ import annotations

import numpy as np
import pytest

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.inference.diagnose import Diagnosis
from arrhythmia.inference.outputs import diagnosis_json
from arrhythmia.rhythm.episodes import Episode

FS = 360.0
SECONDS = 90
# beats every 0.8 s over the first 80 s; the last 10 s are unreadable
BEAT_SAMPLES = np.arange(144, 80 * int(FS), int(0.8 * FS))
CYCLE = ["N", "N", "V", "N", "S", "N", "F", "N", "Q", "N"]


def spiky_signal(samples: np.ndarray, n_samples: int, n_leads: int) -> np.ndarray:
    """A flat line with a 1 mV, 40 ms spike at each beat (the second lead inverted)."""
    signal = np.zeros((n_samples, n_leads), dtype=np.float32)
    t = np.arange(-int(0.04 * FS), int(0.04 * FS) + 1)
    spike = np.exp(-0.5 * (t / (0.01 * FS)) ** 2)
    for s in samples:
        for lead in range(n_leads):
            signal[s + t, lead] += spike * (1 if lead == 0 else -0.5)
    return signal


def made_up_diagnosis(leads=("MLII", "V1"), samples=BEAT_SAMPLES) -> Diagnosis:
    labels = np.array([CYCLE[i % len(CYCLE)] for i in range(len(samples))], dtype="<U1")
    proba = np.full((len(samples), len(AAMI_CLASSES)), 0.05, dtype=np.float32)
    for i, label in enumerate(labels):
        proba[i, AAMI_CLASSES.index(label)] = 0.8 - 0.001 * i  # the first of each is surest
    n = SECONDS * int(FS)
    episodes = [
        Episode("N", 0, int(20 * FS)), Episode("VT", int(20 * FS), int(25 * FS)),
        Episode("N", int(25 * FS), int(40 * FS)), Episode("B", int(40 * FS), int(60 * FS)),
        Episode("N", int(60 * FS), int(80 * FS)), Episode("NOISE", int(80 * FS), n),
    ]  # fmt: skip
    return Diagnosis(
        record="made_up", fs=FS, leads=tuple(leads), n_samples=n, samples=samples,
        labels=labels, proba=proba, episodes=episodes, unreadable=[(int(80 * FS), n)],
        pauses=[], beats_from="detector",
    )  # fmt: skip


@pytest.fixture
def made_up():
    """(diagnosis, signal, JSON report) of the made-up record."""
    d = made_up_diagnosis()
    return d, spiky_signal(d.samples, d.n_samples, 2), diagnosis_json(d, "tiny.pt", "tiny.npz")
