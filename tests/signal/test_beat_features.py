"""Per-beat model inputs from one record: the cleaned, amplitude-normalised two-lead signal
and the windows and RR features cut from it, shared by training and inference."""

from dataclasses import replace

import numpy as np
import pytest

from arrhythmia.data.wfdb_io import read_beats, read_ecg
from arrhythmia.signal.beat_features import beat_features, clean_signal
from arrhythmia.signal.beats import window_bounds
from arrhythmia.signal.ecg import EcgRecord
from arrhythmia.signal.rr import RR_FEATURES, rr_features
from tests.conftest import EXCERPT_DIR

QRS_HALF_S = 0.06  # the half-width normalise_amplitude measures a QRS over


@pytest.fixture(scope="module")
def record_100() -> tuple[EcgRecord, np.ndarray]:
    return read_ecg(EXCERPT_DIR / "100"), read_beats(EXCERPT_DIR / "100").sample


def _median_qrs_ptp(signal: np.ndarray, beats: np.ndarray, fs: float) -> np.ndarray:
    half = int(round(QRS_HALF_S * fs))
    return np.median([np.ptp(signal[s - half : s + half + 1], axis=0) for s in beats], axis=0)


def test_clean_signal_has_a_median_qrs_amplitude_of_one_in_each_lead(record_100, params):
    ecg, beats = record_100
    clean = clean_signal(ecg, beats, params.preprocess)
    assert clean.shape == ecg.signal.shape
    # The raw leads differ (MLII about 1.5 mV, V5 under 1 mV); the clean ones do not.
    raw = _median_qrs_ptp(ecg.signal, beats, ecg.fs)
    assert abs(raw[0] - raw[1]) > 0.3
    np.testing.assert_allclose(_median_qrs_ptp(clean, beats, ecg.fs), 1.0, rtol=1e-9)


def test_clean_signal_removes_baseline_wander_and_mains(record_100, params):
    ecg, beats = record_100
    t = np.arange(len(ecg.signal))[:, None] / ecg.fs
    disturbed = ecg.signal + 0.5 * np.sin(2 * np.pi * 0.2 * t) + 0.2 * np.sin(2 * np.pi * 60 * t)
    clean = clean_signal(ecg, beats, params.preprocess)
    again = clean_signal(replace(ecg, signal=disturbed), beats, params.preprocess)
    middle = slice(int(5 * ecg.fs), int(25 * ecg.fs))  # away from the filters' edges
    # Within 5 % of a QRS amplitude, where the added wander alone is half a millivolt.
    assert np.abs(again[middle] - clean[middle]).max() < 0.05


def test_clean_signal_ignores_the_records_gain_and_offset(record_100, params):
    ecg, beats = record_100
    clean = clean_signal(ecg, beats, params.preprocess)
    rescaled = replace(ecg, signal=3.0 * ecg.signal - 1.2)  # another ADC gain and baseline
    np.testing.assert_allclose(clean_signal(rescaled, beats, params.preprocess), clean, atol=1e-6)


def test_clean_signal_keeps_the_callers_lead_order_and_reads_two_leads(record_100, params):
    ecg, beats = record_100
    clean = clean_signal(ecg, beats, params.preprocess)
    swapped = replace(ecg, signal=ecg.signal[:, ::-1], leads=ecg.leads[::-1])
    np.testing.assert_allclose(clean_signal(swapped, beats, params.preprocess), clean[:, ::-1])
    third = np.random.default_rng(0).normal(size=(len(ecg.signal), 1))
    three = replace(ecg, signal=np.hstack([ecg.signal, third]), leads=(*ecg.leads, "V2"))
    np.testing.assert_array_equal(clean_signal(three, beats, params.preprocess), clean)


def test_a_one_lead_record_is_read_as_two_copies_of_its_lead(record_100, params):
    ecg, beats = record_100
    one = replace(ecg, signal=ecg.signal[:, :1], leads=ecg.leads[:1])
    clean = clean_signal(one, beats, params.preprocess)
    assert clean.shape == (len(ecg.signal), 2)
    np.testing.assert_array_equal(clean[:, 0], clean[:, 1])
    np.testing.assert_allclose(clean[:, 0], clean_signal(ecg, beats, params.preprocess)[:, 0])


def test_beat_windows_are_cut_from_the_clean_signal_with_the_r_peak_at_pre(record_100, params):
    ecg, beats = record_100
    p = params.preprocess
    f = beat_features(ecg, beats, p)
    pre, post = window_bounds(ecg.fs, p.window_pre_s, p.window_post_s)
    assert f.windows.shape == (len(beats), 2, pre + post) and f.windows.dtype == np.float32
    clean = clean_signal(ecg, beats, p)
    inner = np.flatnonzero((beats >= pre) & (beats + post <= len(clean)))
    for k in inner:
        expected = clean[beats[k] - pre : beats[k] + post].T
        np.testing.assert_allclose(f.windows[k], expected, rtol=1e-6, atol=1e-6)
    # MLII's R wave is the tallest point of a normal beat's window.
    peak = np.argmax(f.windows[inner, 0], axis=1)
    assert np.abs(peak - pre).max() <= 2


def test_beat_rr_features_are_those_of_the_beats_with_the_params_settings(record_100, params):
    ecg, beats = record_100
    p = params.preprocess
    f = beat_features(ecg, beats, p)
    settings = {"local_beats": p.local_rr_beats, "sinus_beats": p.sinus_rr_beats}
    np.testing.assert_array_equal(f.rr, rr_features(beats, ecg.fs, **settings, max_rr_s=p.max_rr_s))
    # The atrial premature beat (the excerpt's only A) is the earliest against its rhythm.
    (a_beat,) = np.flatnonzero(read_beats(EXCERPT_DIR / "100").symbol == "A")
    pre_over_local = f.rr[:, RR_FEATURES.index("pre_over_local")]
    assert np.argmin(pre_over_local) == a_beat
    assert pre_over_local[a_beat] < 0.85 and np.median(pre_over_local) > 0.95


def test_beat_features_name_the_two_leads_read(record_100, params):
    ecg, beats = record_100
    assert beat_features(ecg, beats, params.preprocess).leads == ("MLII", "V5")
    three = replace(ecg, signal=np.hstack([ecg.signal, ecg.signal[:, :1]]), leads=(*ecg.leads, "X"))
    assert beat_features(three, beats, params.preprocess).leads == ("MLII", "V5")
