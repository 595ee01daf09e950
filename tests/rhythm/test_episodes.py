"""Behaviour of the rhythm episode detectors on synthetic beat sequences and a real excerpt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arrhythmia.data.aami import SYMBOL_TO_AAMI
from arrhythmia.data.wfdb_io import read_beats, read_ecg
from arrhythmia.rhythm.episodes import (
    FLUTTER_ENDS,
    Episode,
    RhythmParams,
    _absorb_short_runs,
    find_episodes,
    find_pauses,
    to_rhythm_annotations,
)

FS = 360.0


def beats_from_rr(rr_s: list[float] | np.ndarray, start_s: float = 0.5) -> np.ndarray:
    return np.round((start_s + np.r_[0.0, np.cumsum(rr_s)]) * FS).astype(np.int64)


def spiky_ecg(samples: np.ndarray, n_samples: int, n_leads: int = 2) -> np.ndarray:
    """Narrow QRS-like spikes at the beats on a flat line, in mV."""
    ecg = np.zeros((n_samples, n_leads))
    width = np.arange(-9, 10)
    for s in samples:
        idx = np.clip(s + width, 0, n_samples - 1)
        ecg[idx, :] += (1.5 * np.exp(-0.5 * (width / 3.0) ** 2))[:, None]
    return ecg


def detect(samples, labels, n_samples, signal=None, **kwargs) -> list[Episode]:
    if signal is None:
        signal = spiky_ecg(samples, n_samples)
    return find_episodes(samples, np.asarray(labels), FS, signal, n_samples, **kwargs)


def assert_partition(episodes: list[Episode], n_samples: int) -> None:
    assert episodes[0].start == 0 and episodes[-1].end == n_samples
    for before, after in zip(episodes, episodes[1:], strict=False):
        assert before.end == after.start
        assert before.rhythm != after.rhythm
    assert all(ep.end > ep.start for ep in episodes)


def seconds_of(episodes: list[Episode], rhythm: str) -> float:
    return sum(ep.end - ep.start for ep in episodes if ep.rhythm == rhythm) / FS


def test_regular_sinus_is_one_normal_episode():
    samples = beats_from_rr(np.full(300, 0.8))
    n = int(samples[-1] + FS)
    assert detect(samples, ["N"] * len(samples), n) == [Episode("N", 0, n)]


def test_irregular_rr_gives_af_only_when_long_enough():
    rng = np.random.default_rng(0)
    sinus = np.full(150, 0.8)

    def record(af_beats: int):
        rr = np.r_[sinus, rng.uniform(0.4, 1.2, af_beats), sinus]
        samples = beats_from_rr(rr)
        return samples, int(samples[-1] + FS)

    samples, n = record(250)  # about 200 s of AF
    episodes = detect(samples, ["N"] * len(samples), n)
    assert_partition(episodes, n)
    af = [ep for ep in episodes if ep.rhythm == "AFIB"]
    assert len(af) == 1
    # The RR trends average over about 50 beats, so the edges lag by up to half a minute.
    af_start_s, af_end_s = 0.5 + 150 * 0.8, 0.5 + 150 * 0.8 + 200
    assert abs(af[0].start / FS - af_start_s) < 40 and abs(af[0].end / FS - af_end_s) < 40

    samples, n = record(15)  # about 12 s: under the minimum episode length
    assert seconds_of(detect(samples, ["N"] * len(samples), n), "AFIB") == 0


def test_sinus_with_isolated_pvcs_is_not_af():
    rr, labels = [], []
    for k in range(400):
        premature = k % 7 == 3
        rr.append(0.45 if premature else (1.15 if k % 7 == 4 else 0.8))
        labels.append("V" if premature else "N")
    samples = beats_from_rr(rr[:-1])
    n = int(samples[-1] + FS)
    episodes = detect(samples, labels, n)
    assert seconds_of(episodes, "AFIB") == 0
    assert {ep.rhythm for ep in episodes} == {"N"}


def ecg_with_atrial_waves(samples, labels, n_samples, p_waves: bool = True) -> np.ndarray:
    """(n, 1) ECG in mV: a QRS at every beat; before each N beat the same sinus P wave, before
    each S beat a P wave of its own shape (ectopic focus), with "fibrillation" 6 Hz atrial
    waves of random phase instead before every beat (`p_waves` False)."""
    rng = np.random.default_rng(0)
    signal = rng.normal(0.0, 0.01, n_samples)
    t = np.arange(-int(0.25 * FS), -int(0.07 * FS))
    for sample, label in zip(samples, labels, strict=True):
        if label == "N" and p_waves:
            signal[sample + t] += 0.15 * np.exp(-(((t + 0.16 * FS) / (0.03 * FS)) ** 2))
        elif label == "S" and p_waves:
            centre, sign = rng.uniform(0.1, 0.2) * FS, rng.choice([-1.0, 1.0])
            signal[sample + t] += sign * 0.1 * np.exp(-(((t + centre) / (0.02 * FS)) ** 2))
        else:
            signal[sample + t] += 0.05 * np.sin(2 * np.pi * 6.0 * t / FS + rng.uniform(0, 6.3))
        signal[sample - 3 : sample + 4] += 1.0
    return signal[:, None]


def test_frequent_atrial_premature_beats_with_sinus_p_waves_are_not_af():
    # RR intervals as irregular as AF's, but every early beat is an atrial premature beat
    # (S, with a P wave of its own) and the others are sinus beats sharing one P wave.
    rr = np.random.default_rng(1).uniform(0.45, 1.1, 600)
    labels = ["N"] + ["S" if interval < 0.72 else "N" for interval in rr[:-1]]
    samples = beats_from_rr(rr[:-1])
    n = int(samples[-1] + FS)
    signal = ecg_with_atrial_waves(samples, labels, n)
    assert seconds_of(detect(samples, labels, n, signal=signal), "AFIB") == 0
    # Compared with the previous beat whatever it is, the sinus P waves are lost among the
    # ectopic ones and AF is called (the detector before this choice)
    before = RhythmParams(af_p_wave_reference="previous_beat")
    assert seconds_of(detect(samples, labels, n, signal=signal, params=before), "AFIB") > 60
    # The same beats without P waves (fibrillatory waves instead) are AF, S calls and all
    no_p_waves = ecg_with_atrial_waves(samples, labels, n, p_waves=False)
    assert seconds_of(detect(samples, labels, n, signal=no_p_waves), "AFIB") > 0.8 * n / FS


def test_run_of_fast_v_beats_is_vt():
    rr = np.r_[np.full(40, 0.8), np.full(5, 0.4), np.full(40, 0.8)]
    samples = beats_from_rr(rr)
    labels = ["N"] * 41 + ["V"] * 5 + ["N"] * 40
    n = int(samples[-1] + FS)
    episodes = detect(samples, labels, n)
    assert_partition(episodes, n)
    vt = [ep for ep in episodes if ep.rhythm == "VT"]
    assert vt == [Episode("VT", int(samples[41]), int(samples[46]))]


def test_slow_v_run_and_couplet_are_not_vt():
    rr = np.r_[np.full(20, 0.8), [0.9, 0.9, 0.9], np.full(20, 0.8), [0.4, 0.4], np.full(20, 0.8)]
    labels = ["N"] * 21 + ["V"] * 3 + ["N"] * 19 + ["V"] * 2 + ["N"] * 21
    samples = beats_from_rr(rr)
    assert seconds_of(detect(samples, labels, int(samples[-1] + FS)), "VT") == 0


def test_alternating_normal_and_v_beats_is_bigeminy():
    rr = np.r_[np.full(30, 0.8), np.tile([0.5, 1.1], 20), np.full(30, 0.8)]
    labels = ["N"] * 31 + ["V", "N"] * 20 + ["N"] * 30
    samples = beats_from_rr(rr)
    n = int(samples[-1] + FS)
    episodes = detect(samples, labels, n)
    assert_partition(episodes, n)
    bigeminy = [ep for ep in episodes if ep.rhythm == "B"]
    assert len(bigeminy) == 1
    assert bigeminy[0].start == samples[30] and bigeminy[0].end >= samples[70]
    assert seconds_of(episodes, "AFIB") == 0


def test_repeating_two_normal_one_v_is_trigeminy():
    rr = np.r_[np.full(30, 0.8), np.tile([0.8, 0.5, 1.1], 10), np.full(30, 0.8)]
    labels = ["N"] * 31 + ["N", "V", "N"] * 10 + ["N"] * 30
    samples = beats_from_rr(rr)
    assert seconds_of(detect(samples, labels, int(samples[-1] + FS)), "T") > 15


def test_slow_sinus_is_bradycardia():
    samples = beats_from_rr(np.full(60, 1.25))  # 48 bpm
    n = int(samples[-1] + FS)
    episodes = detect(samples, ["N"] * len(samples), n)
    assert seconds_of(episodes, "SBR") > 0.8 * n / FS


def test_large_4_5_hz_oscillation_without_beats_is_ventricular_flutter():
    rr = np.full(40, 0.8)
    before = beats_from_rr(rr)
    flutter_start, flutter_s = int(before[-1] + 0.8 * FS), 20.0
    flutter_end = flutter_start + int(flutter_s * FS)
    after = beats_from_rr(rr, start_s=flutter_end / FS + 0.8)
    samples = np.r_[before, after]
    n = int(samples[-1] + FS)
    ecg = spiky_ecg(samples, n)
    t = np.arange(flutter_end - flutter_start) / FS
    ecg[flutter_start:flutter_end, :] += 1.0 * np.sin(2 * np.pi * 4.5 * t)[:, None]
    episodes = detect(samples, ["N"] * len(samples), n, signal=ecg)
    assert_partition(episodes, n)
    vfl = [ep for ep in episodes if ep.rhythm == "VFL"]
    assert len(vfl) == 1
    assert vfl[0].start >= flutter_start - 2 * FS and vfl[0].end <= flutter_end + 2 * FS
    assert (vfl[0].end - vfl[0].start) / FS > 0.7 * flutter_s


def _two_flutter_bursts(gap_beats: np.ndarray) -> np.ndarray:
    """20 s of 4.5 Hz flutter, a 4-s gap (spikes at `gap_beats`), 20 s of flutter."""
    n = int(60 * FS)
    ecg = np.zeros((n, 2))
    wave = np.sin(2 * np.pi * 4.5 * np.arange(n) / FS)[:, None]
    for start, end in ((int(5 * FS), int(25 * FS)), (int(29 * FS), int(49 * FS))):
        ecg[start:end] += wave[start:end]
    return ecg + spiky_ecg(gap_beats, n)


def test_flutter_interrupted_for_a_few_seconds_is_one_episode():
    no_beats = np.zeros(0, dtype=np.int64)
    ecg = _two_flutter_bursts(no_beats)
    merged = [ep for ep in detect(no_beats, [], len(ecg), signal=ecg) if ep.rhythm == "VFL"]
    assert len(merged) == 1 and merged[0].end - merged[0].start > 38 * FS
    apart = detect(no_beats, [], len(ecg), signal=ecg, params=RhythmParams(vfl_merge_gap_s=0))
    assert [ep.rhythm for ep in apart].count("VFL") == 2


def test_a_flutter_stretch_can_end_where_its_last_positive_window_ends():
    no_beats = np.zeros(0, dtype=np.int64)
    ecg = _two_flutter_bursts(no_beats)
    step = RhythmParams(flutter_end="step")
    at_step = [
        ep for ep in detect(no_beats, [], len(ecg), signal=ecg, params=step) if ep.rhythm == "VFL"
    ]
    params = RhythmParams(flutter_end="window")  # the product's
    at_window = [
        ep for ep in detect(no_beats, [], len(ecg), signal=ecg, params=params) if ep.rhythm == "VFL"
    ]
    half = int(round(params.vfl_window_s * FS) - round(params.vfl_step_s * FS)) // 2
    assert len(at_step) == len(at_window) == 1
    assert at_window[0].start == at_step[0].start  # onsets are not moved
    assert at_window[0].end == at_step[0].end + half  # 1.5 s later: the window's end
    assert at_step[0].end < 49 * FS <= at_window[0].end + FS  # the burst ends at 49 s
    with pytest.raises(ValueError, match="flutter_end"):
        RhythmParams(flutter_end="beat")


def _flutter_then_beats(labels: list[str], rr_s: float) -> tuple[np.ndarray, np.ndarray]:
    """20 s of 4.5 Hz flutter from 5 s, then beats from 25 s: the ECG and the beats."""
    n = int(50 * FS)
    ecg = np.zeros((n, 2))
    start, end = int(5 * FS), int(25 * FS)
    ecg[start:end] += np.sin(2 * np.pi * 4.5 * np.arange(end - start) / FS)[:, None]
    after = beats_from_rr(np.full(len(labels) - 1, rr_s), start_s=25.0)
    return ecg + spiky_ecg(after, n), after


@pytest.mark.parametrize(
    ("labels", "rr_s", "next_rhythm"),
    [(["N"] * 30, 0.8, "N"), (["V"] * 30, 0.45, "VT")],
    ids=["sinus beats", "a run of V beats"],
)
def test_a_flutter_end_never_moves_into_the_organised_rhythm_that_follows(
    labels, rr_s, next_rhythm
):
    """Without the VT/VF trees too: the window's end stops short of sinus beats, and of a
    run of V beats (beat-run VT), as the step's end does."""
    ecg, after = _flutter_then_beats(labels, rr_s)
    ends = {}
    for way in FLUTTER_ENDS:
        episodes = detect(after, labels, len(ecg), signal=ecg, params=RhythmParams(flutter_end=way))
        assert_partition(episodes, len(ecg))
        (flutter,) = [ep for ep in episodes if ep.rhythm == "VFL"]
        following = next(ep for ep in episodes if ep.start == flutter.end)
        assert following.rhythm == next_rhythm
        ends[way] = flutter.end
    assert ends["window"] == ends["step"] <= after[0] + FS


def test_regular_beats_between_flutter_bursts_keep_them_apart():
    sinus = beats_from_rr(np.full(4, 0.8), start_s=25.4)
    ecg = _two_flutter_bursts(sinus)
    episodes = detect(sinus, ["N"] * len(sinus), len(ecg), signal=ecg)
    flutter = [ep for ep in episodes if ep.rhythm == "VFL"]
    assert len(flutter) == 2
    assert not any(ep.start <= s < ep.end for ep in flutter for s in sinus[1:-1])


def _ventricular_waves(wave: np.ndarray, start_s: float = 10.0) -> tuple[np.ndarray, int, int]:
    """A 50-s record: sinus spikes, then `wave` (mV, at FS) from `start_s`, no beats in it."""
    n = int(50 * FS)
    start, end = int(start_s * FS), int(start_s * FS) + len(wave)
    sinus = beats_from_rr(np.full(11, 0.8))
    ecg = spiky_ecg(sinus, n)
    ecg[start:end] += wave[:, None]
    return ecg, start, end


def _monomorphic_vt(seconds: float) -> np.ndarray:
    """180 bpm, each cycle the same wide, non-sinusoidal shape."""
    cycle = 2 * np.pi * 3.0 * np.arange(int(seconds * FS)) / FS
    return np.sin(cycle) + 0.4 * np.sin(2 * cycle + 1.0)


def _fibrillation(seconds: float, seed: int = 7) -> np.ndarray:
    """3-4 Hz waves whose rate drifts and whose size changes every 0.3 s."""
    t = np.arange(int(seconds * FS)) / FS
    rate_hz = 3.5 + 0.6 * np.sin(2 * np.pi * 0.2 * t)
    piece = int(0.3 * FS)
    size = np.repeat(np.random.default_rng(seed).uniform(0.3, 1.5, len(t) // piece + 1), piece)
    size = np.convolve(size, np.ones(36) / 36, "same")[: len(t)]
    return size * np.sin(2 * np.pi * np.cumsum(rate_hz) / FS)


def test_regular_repeating_wide_waves_under_250_bpm_are_vt_not_flutter():
    ecg, start, end = _ventricular_waves(_monomorphic_vt(25))
    episodes = detect(np.zeros(0, np.int64), [], len(ecg), signal=ecg)
    assert_partition(episodes, len(ecg))
    vt = [ep for ep in episodes if ep.rhythm == "VT"]
    assert seconds_of(episodes, "VFL") == 0
    assert len(vt) == 1 and vt[0].start >= start - 2 * FS and vt[0].end <= end + 2 * FS
    assert seconds_of(episodes, "VT") > 0.7 * 25


def test_waves_changing_size_and_rate_are_fibrillation_not_vt():
    ecg, start, end = _ventricular_waves(_fibrillation(25))
    episodes = detect(np.zeros(0, np.int64), [], len(ecg), signal=ecg)
    assert seconds_of(episodes, "VT") == 0
    assert seconds_of(episodes, "VFL") > 0.7 * 25


def test_short_vt_between_fibrillation_stretches_is_not_bridged_over():
    wave = np.r_[_fibrillation(15), _monomorphic_vt(8), _fibrillation(15, seed=8)]
    ecg, start, end = _ventricular_waves(wave, start_s=8.0)
    episodes = detect(np.zeros(0, np.int64), [], len(ecg), signal=ecg)
    assert_partition(episodes, len(ecg))
    vt = [ep for ep in episodes if ep.rhythm == "VT"]
    assert len(vt) == 1 and 5 < seconds_of(episodes, "VT") < 11
    vt_start = start + int(15 * FS)
    assert vt_start - 3 * FS <= vt[0].start and vt[0].end <= vt_start + 11 * FS


def test_doubtful_beats_do_not_hide_signal_vt_but_unreadable_signal_does():
    ecg, start, end = _ventricular_waves(_monomorphic_vt(25))
    no_beats = np.zeros(0, np.int64)
    noisy = detect(no_beats, [], len(ecg), signal=ecg, noisy=[(start, end)])
    assert seconds_of(noisy, "VT") > 0.7 * 25
    unreadable = detect(no_beats, [], len(ecg), signal=ecg, unreadable=[(start, end)])
    assert seconds_of(unreadable, "VT") < 3 and seconds_of(unreadable, "NOISE") >= 25


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("TTTTFTTTT", "TTTTTTTTT"),  # a 1-window gap takes its neighbours' name
        ("TTTTTFFTTTTT", "TTTTTTTTTTTT"),
        ("TTTTTFFFFFF", "TTTTTFFFFFF"),  # two long runs stay
        ("TTF", "TTT"),  # too short to stand: one name for the whole stretch
        ("TF", "FF"),  # a tie: the earlier run yields
    ],
)
def test_short_runs_take_their_neighbours_name(flags: str, expected: str):
    flag = np.array([c == "T" for c in flags])
    inside = np.ones(len(flags), dtype=bool)
    out = _absorb_short_runs(flag, inside, 3)
    assert "".join("T" if f else "F" for f in out) == expected


def test_short_runs_never_cross_a_stretch_edge():
    flag = np.array([True, True, True, False, False, False, False])
    inside = np.array([True, True, True, False, True, True, True])
    assert (_absorb_short_runs(flag, inside, 3) == (flag & inside)).all()


def test_single_lead_signal_works():
    samples = beats_from_rr(np.full(100, 0.8))
    n = int(samples[-1] + FS)
    episodes = detect(samples, ["N"] * len(samples), n, signal=spiky_ecg(samples, n, n_leads=1))
    assert episodes == [Episode("N", 0, n)]


def test_unreadable_interval_overrides_other_rhythms():
    rr = np.r_[np.full(40, 0.8), np.full(6, 0.4), np.full(40, 0.8)]
    labels = ["N"] * 41 + ["V"] * 6 + ["N"] * 40
    samples = beats_from_rr(rr)
    n = int(samples[-1] + FS)
    noise = (int(samples[43]), int(samples[60]))
    episodes = detect(samples, labels, n, unreadable=[noise])
    assert_partition(episodes, n)
    assert Episode("NOISE", *noise) in episodes
    vt = [ep for ep in episodes if ep.rhythm == "VT"]
    assert vt == [Episode("VT", int(samples[41]), noise[0])]


@pytest.mark.parametrize("n_beats", [0, 1, 2])
def test_few_beats_give_one_normal_episode(n_beats):
    n = int(5 * FS)  # a 5-second record
    samples = np.arange(n_beats, dtype=np.int64) * 300 + 100
    episodes = detect(samples, ["N"] * n_beats, n, signal=np.zeros((n, 2)))
    assert episodes == [Episode("N", 0, n)]


def test_empty_record_has_no_episodes():
    assert find_episodes(np.array([], dtype=np.int64), np.array([]), FS, np.zeros((0, 2)), 0) == []


def test_partition_holds_on_a_mixed_record():
    rng = np.random.default_rng(1)
    rr = np.r_[np.full(50, 0.8), rng.uniform(0.4, 1.2, 250), np.full(10, 0.35), np.full(40, 1.3)]
    labels = ["N"] * 301 + ["V"] * 10 + ["N"] * 40
    samples = beats_from_rr(rr)
    n = int(samples[-1] + 3 * FS)
    episodes = detect(samples, labels, n, unreadable=[(0, 200), (n - 100, n + 50)])
    assert_partition(episodes, n)
    assert episodes[0] == Episode("NOISE", 0, 200)
    assert {"AFIB", "VT", "SBR"} <= {ep.rhythm for ep in episodes}


def test_params_are_frozen_with_documented_defaults():
    params = RhythmParams()
    assert params.af_window_beats == 8 and params.af_gamma_s == 0.030
    with pytest.raises(AttributeError):
        params.af_eta = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="af_p_wave_reference"):
        RhythmParams(af_p_wave_reference="sinus")


def test_pauses_are_long_rr_gaps():
    samples = np.array([0, 360, 1500, 1800, 3000])
    assert find_pauses(samples, FS) == [(360, 1500), (1800, 3000)]
    assert find_pauses(samples, FS, min_pause_s=4.0) == []
    assert find_pauses(np.array([5]), FS) == []


def test_annotations_round_trip_through_wfdb(tmp_path: Path):
    import wfdb

    from arrhythmia.evaluation.rhythm_scoring import reference_episodes

    episodes = [Episode("N", 0, 1000), Episode("AFIB", 1000, 5000), Episode("VT", 5000, 5400)]
    episodes.append(Episode("N", 5400, 9000))
    sample, notes = to_rhythm_annotations(episodes)
    assert notes == ["(N", "(AFIB", "(VT", "(N"]
    wfdb.wrann(
        "rec", "atr", sample, symbol=["+"] * len(sample), aux_note=notes, fs=FS,
        write_dir=str(tmp_path),
    )  # fmt: skip
    ann = wfdb.rdann(str(tmp_path / "rec"), "atr")
    assert list(ann.symbol) == ["+"] * 4
    assert [note.rstrip("\x00") for note in ann.aux_note] == notes
    assert reference_episodes(str(tmp_path / "rec"), 9000) == episodes


def test_real_excerpt_with_bigeminy(excerpt_dir: Path):
    """MITDB 119, first 30 s: sinus, then ventricular bigeminy from 21 s (reference "(B")."""
    from arrhythmia.evaluation.rhythm_scoring import episode_scores, reference_episodes

    path = excerpt_dir / "119"
    ecg, beats = read_ecg(path), read_beats(path)
    labels = np.array([SYMBOL_TO_AAMI[s] for s in beats.symbol])
    n = ecg.signal.shape[0]
    episodes = find_episodes(beats.sample, labels, ecg.fs, ecg.signal, n)
    assert_partition(episodes, n)
    assert {ep.rhythm for ep in episodes} == {"N", "B"}
    scores = episode_scores(reference_episodes(str(path), n), episodes, {"B"}, fs=ecg.fs)
    assert scores["episode_se"] == 1.0 and scores["episode_ppv"] == 1.0
    assert scores["duration_se"] > 0.9 and scores["duration_ppv"] > 0.9
