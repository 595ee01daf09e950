"""Labels at DS2's reference beats as the product gives them (no S inside the AF it finds)."""

from functools import partial

import numpy as np

from arrhythmia.data.beat_dataset import dataset_ecg
from arrhythmia.evaluation import at_reference
from arrhythmia.rhythm.episodes import Episode, RhythmParams


def test_each_record_is_read_and_its_own_af_removes_s_calls_inside_it(excerpt_dir, monkeypatch):
    seen = {}

    strip_af = object()  # the model's learnt strip call, handed on untouched
    ventricular = object()  # and its VT/VF trees
    params = RhythmParams(af_p_wave_reference="previous_beat")  # and the rhythm settings

    def fake_episodes(
        samples, labels, fs, signal, n_samples, unreadable, *, proba, strip_af, ventricular, params
    ):
        seen[len(samples)] = (fs, n_samples, signal.shape[1], proba.tolist(), strip_af, ventricular)
        seen["params"] = params
        if len(samples) == 3:  # the first record: AF over its middle
            return [Episode("N", 0, 1000), Episode("AFIB", 1000, 5000), Episode("N", 5000, 10800)]
        return [Episode("N", 0, n_samples)]

    monkeypatch.setattr(at_reference, "find_episodes", fake_episodes)
    records = np.array(["100", "100", "100", "119", "119"])
    samples = np.array([500, 2000, 6000, 500, 2000])
    proba = np.tile(np.array([[0.1, 0.8, 0.05, 0.03, 0.02]], dtype=np.float32), (5, 1))
    proba[:, 2] += np.arange(5) / 100  # each beat its own row, to tell whose rows are handed on
    before = proba.copy()

    out = at_reference.rhythm_consistent(
        partial(dataset_ecg, excerpt_dir),
        records,
        samples,
        proba,
        strip_af=strip_af,
        ventricular=ventricular,
        params=params,
    )

    assert out.argmax(axis=1).tolist() == [1, 0, 1, 1, 1]  # only the S beat inside AF moves
    # each record's own signal and beat probabilities (before the rule), and the learnt calls
    assert seen == {
        3: (360.0, 10800, 2, before[:3].tolist(), strip_af, ventricular),
        2: (360.0, 10800, 2, before[3:].tolist(), strip_af, ventricular),
        "params": params,
    }
    np.testing.assert_array_equal(proba, before)  # the input is left alone
