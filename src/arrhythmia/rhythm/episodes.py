"""Rhythm episodes of a record from its beats, their AAMI labels and the raw signal.

The result is a partition of the record into episodes named as MITDB's rhythm aux notes
("N", "AFIB", "VT", "VFL", "B", "T", "SVTA", "SBR", "NOISE"). Each detector proposes spans;
where spans of different rhythms overlap the more specific or more urgent one wins
(:data:`PRIORITY`), and what no detector claims is "N".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal as sps

from arrhythmia.rhythm.atrial import (
    clean_intervals,
    p_wave_similarity,
    sinus_p_wave_similarity,
)
from arrhythmia.rhythm.flutter_features import vfl_window_features, vt_window_features
from arrhythmia.rhythm.strip import STRIP_MAX_S, confirmed_af_spans, strip_af_spans
from arrhythmia.rhythm.strip_model import StripAfModel
from arrhythmia.rhythm.ventricular import VentricularModel, feature_settings, window_rows
from arrhythmia.signal.quality import covered_before, union

SINUS = "N"
P_WAVE_REFERENCES = ("previous_normal", "previous_beat")  # RhythmParams.af_p_wave_reference
FLUTTER_ENDS = ("step", "window")  # RhythmParams.flutter_end
# Lowest to highest: a later rhythm overrides an earlier one where both are proposed.
PRIORITY: tuple[str, ...] = ("SBR", "SVTA", "T", "B", "AFIB", "VT", "VFL", "NOISE")


@dataclass(frozen=True)
class Episode:
    rhythm: str  # MITDB aux-note name without "(", e.g. "AFIB"
    start: int  # first sample, at the record's rate
    end: int  # one past the last sample


@dataclass(frozen=True)
class RhythmParams:
    """Every threshold of the detectors. "Published" values are the paper's; "DS1" values were
    chosen on the MITDB DS1 records only, the VT-from-signal ones on DS1, VFDB and CUDB
    (DS2 is the held-out test set)."""

    # AF: Petrenas, Marozas & Sornmo 2015 (Comput Biol Med 65:184-191), published values.
    af_window_beats: int = 8  # N, the sliding window of RR intervals
    af_gamma_s: float = 0.030  # two RR intervals "differ" when apart by at least this
    af_alpha: float = 0.02  # exponential averaging factor of the trends
    af_delta: float = 2e-4  # bigeminy suppression level
    af_eta: float = 0.725  # decision threshold on the irregularity ratio I(n) (1/s)
    # AF episodes: the notes' 30-60 s minimum. Neither this nor the gap merge changed any DS1
    # score (the 50-beat trend smoothing already joins short gaps); kept as safety nets.
    af_min_episode_s: float = 30.0
    af_merge_gap_s: float = 10.0
    # With a learnt strip AF call in the model, a long record's AF is confirmed by it in
    # windows of this length to twice it: the CinC 2017 strips' median length, not tuned.
    af_confirm_window_s: float = 30.0
    # Atrial activity veto (the notes: P waves veto AF; Larburu 2011): where the pre-QRS
    # segments of consecutive beats stay alike, P waves are there and it is not AF.
    af_p_window_s: tuple[float, float] = (0.25, 0.07)  # segment from s to s
    af_p_beats: int = 16  # rolling median over this many beats
    af_max_p_similarity: float = 0.6  # DS1: AF beats <= 0.5, sinus mostly >= 0.7
    # Whose P wave a normal beat's is compared with: "previous_normal" skips ectopic beats
    # (their P waves are their own); "previous_beat" (the detector before this setting) loses
    # the sinus P waves among frequent atrial premature beats. Chosen on DS1 and SVDB out of
    # fold (benchmarks/af_rule.py --development; docs/results.md). Short strips' features
    # still compare successive beats (rhythm/strip.py): their trees learnt them so.
    af_p_wave_reference: str = "previous_normal"
    # VT: 3 or more V beats in a row (MITDB / EC57). The clinical rate floor is 100 bpm, but
    # MITDB's annotators also call runs at 88-91 bpm VT (records 205, 223); 90 chosen on DS1.
    vt_min_beats: int = 3
    vt_min_rate_bpm: float = 90.0  # DS1
    # SVTA: 3 or more S beats in a row faster than 100 bpm (clinical definition).
    svta_min_beats: int = 3
    svta_min_rate_bpm: float = 100.0
    # Ventricular bigeminy / trigeminy: repeated (non-V, V) / (non-V, non-V, V) cycles. The
    # brief's "3-4 cycles"; not tuned (B and T are not scored by the benchmark).
    bigeminy_min_cycles: int = 4
    trigeminy_min_cycles: int = 4
    # Sinus bradycardia: median rate under 60 bpm (clinical) over at least this many beats.
    sbr_max_rate_bpm: float = 60.0
    sbr_min_beats: int = 10
    # Ventricular flutter / fibrillation from the signal: windows of the decimated signal.
    vfl_rate_hz: float = 60.0  # decimation target; VF lies in 2-10 Hz
    vfl_window_s: float = 4.0  # the notes' 4-8 s windows
    vfl_step_s: float = 1.0
    vfl_min_windows: int = 3  # consecutive positive windows (the notes' 2-3)
    vfl_band_hz: tuple[float, float] = (2.0, 9.0)  # where the dominant frequency must lie; DS1
    vfl_min_concentration: float = 0.5  # power within 1 Hz of the peak / 1-25 Hz power; DS1
    vfl_min_tcsc: float = 0.45  # share of samples above 20 % of the window's peak (TCSC); DS1
    vfl_min_std_mv: float = 0.1  # flat lines and disconnected leads are not VF; DS1
    vfl_veto_beats: int = 3  # this many regular non-V beats in a window veto VF; DS1
    vfl_veto_rr_cv: float = 0.15  # "regular": RR coefficient of variation under this; DS1
    vfl_merge_gap_s: float = 10.0  # flutter spans this close are one episode; DS1, VFDB, CUDB
    # Where a flutter stretch ends: "step", the central step of its last positive window (a
    # window stands for its central step), or "window", that window's end, 1.5 s later:
    # detected VF tended to end before the reference's while starting on time. Chosen on
    # DS1, VFDB and CUDB out of fold (benchmarks/vt_vf_presence.py --flutter-end).
    flutter_end: str = "window"
    # Monomorphic VT among the flutter windows: consecutive cycles alike (the autocorrelation
    # one period on) and their amplitudes steady, slower than flutter's 250 bpm. VF's cycles
    # change shape and size. Chosen on VFDB, CUDB and DS1 windows (docs/method.md).
    vt_min_cycle_similarity: float = 0.8
    vt_max_amplitude_cv: float = 0.12  # of the peak-to-peak amplitude in half-second steps
    vt_max_rate_hz: float = 250 / 60  # clinical VT / flutter line
    vt_smooth_windows: int = 9  # the features' running median over this many windows

    def __post_init__(self) -> None:
        if self.flutter_end not in FLUTTER_ENDS:
            raise ValueError(
                f"RhythmParams: flutter_end must be one of {FLUTTER_ENDS}, not {self.flutter_end!r}"
            )
        if self.af_p_wave_reference not in P_WAVE_REFERENCES:
            raise ValueError(
                f"RhythmParams: af_p_wave_reference must be one of {P_WAVE_REFERENCES},"
                f" not {self.af_p_wave_reference!r}"
            )
        if self.vfl_window_s < 0.5 or self.vfl_min_windows < 1 or self.vt_smooth_windows < 1:
            raise ValueError(
                "RhythmParams: vfl_window_s must be at least 0.5 s (the amplitude is measured"
                " in half-second pieces); vfl_min_windows and vt_smooth_windows at least 1"
            )


def find_episodes(
    samples: np.ndarray,
    labels: np.ndarray,
    fs: float,
    signal: np.ndarray,
    n_samples: int,
    unreadable: list[tuple[int, int]] = (),
    params: RhythmParams = RhythmParams(),
    noisy: list[tuple[int, int]] = (),
    *,
    proba: np.ndarray | None = None,
    strip_af: StripAfModel | None = None,
    ventricular: VentricularModel | None = None,
) -> list[Episode]:
    """Rhythm episodes covering [0, n_samples): sorted, contiguous, adjacent ones differing.

    ``samples`` are sorted beat positions, ``labels`` their AAMI letters, ``signal`` the
    (n_samples, n_leads) ECG in physical units; ``unreadable`` spans become "NOISE", and so
    do ``noisy`` spans except where flutter or VT is told from the signal. A strip (up to
    STRIP_MAX_S) gets one AF call from all its beats (:mod:`arrhythmia.rhythm.strip`), by
    the learnt ``strip_af`` model where one is given with the beats' class ``proba``
    (before any rhythm rule); a longer record's AF is then confirmed by that model in
    windows of ``af_confirm_window_s``. The learnt `ventricular` trees, where given, say
    where VT or VF is (:func:`ventricular_tachyarrhythmia_spans`)."""
    if n_samples <= 0:
        return []
    samples = np.asarray(samples, dtype=np.int64)
    labels = np.asarray(labels, dtype="<U1")
    if samples.shape != labels.shape:
        raise ValueError(f"{len(samples)} beats but {len(labels)} labels")
    flutter, monomorphic_vt = ventricular_tachyarrhythmia_spans(
        signal, fs, samples, labels, params, ventricular, unreadable
    )
    lost = union(unreadable, noisy)  # what the AF calls count as unreadable
    proposals = {
        "SBR": sinus_bradycardia_spans(samples, labels, fs, params),
        "SVTA": run_spans(
            samples, labels, fs, "S", params.svta_min_beats, params.svta_min_rate_bpm
        ),
        "T": pattern_spans(samples, labels, fs, "(?:[^V]{2}V)", params.trigeminy_min_cycles),
        "B": pattern_spans(samples, labels, fs, "(?:[^V]V)", params.bigeminy_min_cycles),
        "AFIB": _af_proposal(samples, labels, fs, signal, lost, params, proba, strip_af, n_samples),
        "VT": run_spans(samples, labels, fs, "V", params.vt_min_beats, params.vt_min_rate_bpm),
        "VFL": flutter,
        "NOISE": np.asarray(list(unreadable), dtype=np.int64).reshape(-1, 2),
    }
    layers = [(name, proposals[name]) for name in PRIORITY]
    # Noisy (beats found, classes doubtful) overrides every rhythm told from beat labels, but
    # not flutter or VT told from the signal, whose waves make the detector doubt.
    layers[PRIORITY.index("VFL") : PRIORITY.index("VFL")] = [
        ("NOISE", np.asarray(list(noisy), np.int64).reshape(-1, 2)),
        ("VT", monomorphic_vt),
    ]
    return merge_touching(paint(n_samples, layers))


def _af_proposal(
    samples: np.ndarray,
    labels: np.ndarray,
    fs: float,
    signal: np.ndarray,
    unreadable: list[tuple[int, int]],
    params: RhythmParams,
    proba: np.ndarray | None,
    strip_af: StripAfModel | None,
    n_samples: int,
) -> np.ndarray:
    """A strip's AF: one call from all its beats. A long record's: the episode detector's,
    confirmed window by window by the learnt strip call where the model carries one
    (episodes still last ``af_min_episode_s``)."""
    if n_samples <= STRIP_MAX_S * fs:
        return strip_af_spans(samples, labels, fs, signal, unreadable, proba=proba, model=strip_af)
    spans = atrial_fibrillation_spans(samples, labels, fs, params, signal)
    if strip_af is None or proba is None or len(spans) == 0:
        return spans
    kept = confirmed_af_spans(
        spans,
        samples,
        labels,
        proba,
        fs,
        signal,
        unreadable,
        model=strip_af,
        window_s=params.af_confirm_window_s,
    )
    return _merge_spans(kept, 0, int(params.af_min_episode_s * fs))


def find_pauses(samples: np.ndarray, fs: float, min_pause_s: float = 2.0) -> list[tuple[int, int]]:
    """RR gaps longer than ``min_pause_s``, as (beat, next beat) sample pairs."""
    samples = np.asarray(samples, dtype=np.int64)
    gap = np.flatnonzero(np.diff(samples) > min_pause_s * fs)
    return [(int(samples[i]), int(samples[i + 1])) for i in gap]


def to_rhythm_annotations(episodes: list[Episode]) -> tuple[np.ndarray, list[str]]:
    """One "+" annotation per episode start with aux note "(RHYTHM" (MITDB: a rhythm lasts
    until the next "+")."""
    starts = np.array([ep.start for ep in episodes], dtype=np.int64)
    return starts, [f"({ep.rhythm}" for ep in episodes]


# --- building the partition -------------------------------------------------------------------


def paint(n_samples: int, layers: list[tuple[str, np.ndarray]]) -> list[Episode]:
    """Partition of [0, n_samples) where each layer's spans override the layers before it and
    "N" fills the rest. Works on span edges only, so memory does not grow with the record."""
    layers = [(name, _clip_spans(spans, n_samples)) for name, spans in layers]
    edges = np.unique(np.concatenate([[0, n_samples], *[s.ravel() for _, s in layers]]))
    winner = np.zeros(len(edges) - 1, dtype=np.int16)  # 0 = sinus
    for code, (_, spans) in enumerate(layers, start=1):
        if len(spans) == 0:
            continue
        depth = np.zeros(len(edges), dtype=np.int64)
        np.add.at(depth, np.searchsorted(edges, spans[:, 0]), 1)
        np.add.at(depth, np.searchsorted(edges, spans[:, 1]), -1)
        winner[np.cumsum(depth)[:-1] > 0] = code
    names = (SINUS, *[name for name, _ in layers])
    first = np.flatnonzero(np.r_[True, winner[1:] != winner[:-1]])
    last = np.r_[first[1:], len(winner)]
    return [
        Episode(names[winner[a]], int(edges[a]), int(edges[b]))
        for a, b in zip(first, last, strict=True)
    ]


def merge_touching(episodes: list[Episode]) -> list[Episode]:
    """Sorted episodes with touching neighbours of the same rhythm joined."""
    merged: list[Episode] = []
    for ep in episodes:
        if merged and merged[-1].rhythm == ep.rhythm and merged[-1].end >= ep.start:
            merged[-1] = Episode(ep.rhythm, merged[-1].start, max(merged[-1].end, ep.end))
        else:
            merged.append(ep)
    return merged


def _clip_spans(spans: np.ndarray, n_samples: int) -> np.ndarray:
    spans = np.clip(np.asarray(spans, dtype=np.int64).reshape(-1, 2), 0, n_samples)
    return spans[spans[:, 1] > spans[:, 0]]


def _beat_run_spans(samples: np.ndarray, first: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Spans of beat runs ``first[k] .. stop[k] - 1``: from the first beat to the beat after the
    run (or, at the record's end, one median RR after the last beat)."""
    if len(first) == 0:
        return np.empty((0, 2), dtype=np.int64)
    rr = np.diff(samples)
    typical = int(np.median(rr)) if len(rr) else 0
    next_beat = samples[np.minimum(stop, len(samples) - 1)]
    after = np.where(stop < len(samples), next_beat, samples[stop - 1] + typical)
    return np.column_stack([samples[first], after])


def _merge_spans(spans: np.ndarray, max_gap: int, min_length: int) -> np.ndarray:
    """Sorted spans with gaps up to ``max_gap`` bridged, then those shorter than ``min_length``
    dropped."""
    if len(spans) == 0:
        return spans.reshape(-1, 2)
    first = np.flatnonzero(
        np.r_[True, spans[1:, 0] - np.maximum.accumulate(spans[:-1, 1]) > max_gap]
    )
    merged = np.column_stack([spans[first, 0], np.maximum.reduceat(spans[:, 1], first)])
    return merged[merged[:, 1] - merged[:, 0] >= min_length]


# --- beat-label patterns ----------------------------------------------------------------------


def run_spans(
    samples: np.ndarray, labels: np.ndarray, fs: float, label: str, min_beats: int, rate_bpm: float
) -> np.ndarray:
    """Runs of at least ``min_beats`` consecutive ``label`` beats whose mean rate exceeds
    ``rate_bpm`` (VT for "V", SVTA for "S")."""
    runs = _pattern_runs(labels, f"{label}{{{min_beats},}}")
    if len(runs) == 0:
        return np.empty((0, 2), dtype=np.int64)
    mean_rr = (samples[runs[:, 1] - 1] - samples[runs[:, 0]]) / (runs[:, 1] - runs[:, 0] - 1)
    fast = mean_rr < fs * 60.0 / rate_bpm
    return _beat_run_spans(samples, runs[fast, 0], runs[fast, 1])


def pattern_spans(
    samples: np.ndarray, labels: np.ndarray, fs: float, cycle: str, min_cycles: int
) -> np.ndarray:
    """Spans where a beat-label ``cycle`` (a regular expression) repeats at least
    ``min_cycles`` times in a row, e.g. "(?:[^V]V)" for ventricular bigeminy."""
    runs = _pattern_runs(labels, f"{cycle}{{{min_cycles},}}")
    return _beat_run_spans(samples, runs[:, 0], runs[:, 1]) if len(runs) else runs


def _pattern_runs(labels: np.ndarray, pattern: str) -> np.ndarray:
    """(k, 2) beat index ranges [first, stop) matching ``pattern`` in the label string; the
    regular expression engine scans the whole record in C."""
    text = "".join(labels.tolist())
    runs = [(m.start(), m.end()) for m in re.finditer(pattern, text)]
    return np.array(runs, dtype=np.int64).reshape(-1, 2)


def sinus_bradycardia_spans(
    samples: np.ndarray, labels: np.ndarray, fs: float, params: RhythmParams
) -> np.ndarray:
    """Spans where the median rate of ``sbr_min_beats`` consecutive non-ventricular beats
    stays under ``sbr_max_rate_bpm``."""
    n = params.sbr_min_beats
    if len(samples) < n + 1:
        return np.empty((0, 2), dtype=np.int64)
    rr = np.diff(samples).astype(float)
    clean = clean_intervals(labels)
    rr[~clean] = np.nan
    # Left-out intervals sort last, so the median of the clean ones is at index (count-1)/2.
    windows = np.sort(sliding_window_view(rr, n), axis=1)
    count = np.isfinite(windows).sum(axis=1)
    enough = count >= n // 2
    rows = np.flatnonzero(enough)
    median = np.zeros(len(windows))
    median[rows] = 0.5 * (windows[rows, (count[rows] - 1) // 2] + windows[rows, count[rows] // 2])
    slow = enough & (median > fs * 60.0 / params.sbr_max_rate_bpm)
    first = np.flatnonzero(slow)
    spans = np.column_stack([samples[first], samples[first + n]])
    return _merge_spans(spans, 0, 0)


# --- atrial fibrillation ----------------------------------------------------------------------


def _exponential_average(x: np.ndarray, alpha: float) -> np.ndarray:
    """Forward-backward first-order exponential averaging (zero phase)."""
    if len(x) < 7:  # filtfilt needs more points than its padding
        return np.full(len(x), x.mean()) if len(x) else x
    return sps.filtfilt([alpha], [1.0, alpha - 1.0], x)


def af_decision(rr_s: np.ndarray, params: RhythmParams) -> np.ndarray:
    """Petrenas et al. (2015) AF decision for each RR interval of a series (seconds): RR
    irregularity in an 8-beat window over the RR trend, suppressed where the pattern is
    bigeminal."""
    n = params.af_window_beats
    if len(rr_s) < n:
        return np.zeros(len(rr_s), dtype=bool)
    # 3-point median filter: the paper's ectopic-beat filter.
    median = rr_s.copy()
    median[1:-1] = np.median(sliding_window_view(rr_s, 3), axis=1)
    trend = _exponential_average(rr_s, params.af_alpha)
    # M(n): share of the pairs of the last N intervals that differ by at least gamma.
    padded = np.r_[np.full(n - 1, median[0]), median]
    windows = sliding_window_view(padded, n)
    i, j = np.triu_indices(n, k=1)
    differing = (np.abs(windows[:, i] - windows[:, j]) >= params.af_gamma_s).mean(axis=1)
    irregularity = _exponential_average(differing, params.af_alpha) / trend
    # B(n): bigeminy changes the RR sum little under the median filter; AF changes it more.
    kernel = np.ones(n)
    ratio = np.convolve(median, kernel)[: len(rr_s)] / np.convolve(rr_s, kernel)[: len(rr_s)]
    bigeminy = _exponential_average((ratio - 1.0) ** 2, params.af_alpha)
    fused = np.where(bigeminy >= params.af_delta, irregularity, bigeminy)
    return fused > params.af_eta


def atrial_fibrillation_spans(
    samples: np.ndarray,
    labels: np.ndarray,
    fs: float,
    params: RhythmParams,
    signal: np.ndarray | None = None,
) -> np.ndarray:
    """AF spans from the RR intervals between non-ventricular beats; the intervals left out
    take the decision of their neighbours when both agree. With the signal, stretches with
    P waves are vetoed."""
    if len(samples) < params.af_window_beats + 2:
        return np.empty((0, 2), dtype=np.int64)
    rr = np.diff(samples) / fs
    clean = clean_intervals(labels)
    decided = np.zeros(len(rr), dtype=bool)
    decided[clean] = af_decision(rr[clean], params)
    if signal is not None and len(signal):
        decided &= ~atrial_activity(signal, fs, samples, labels, params)[1:]
    # Left-out intervals: AF where the clean intervals before and after them are both AF.
    index = np.where(clean, np.arange(len(rr)), -1)
    before = np.maximum.accumulate(index)
    index_after = np.where(clean, np.arange(len(rr)), len(rr))
    after = np.minimum.accumulate(index_after[::-1])[::-1]
    inside = (before >= 0) & (after < len(rr))
    decided[~clean] = (
        inside[~clean]
        & decided[np.clip(before, 0, len(rr) - 1)][~clean]
        & decided[np.clip(after, 0, len(rr) - 1)][~clean]
    )
    edges = np.diff(np.r_[0, decided.astype(np.int8), 0])
    first, stop = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    spans = np.column_stack([samples[first], samples[stop]])
    return _merge_spans(spans, int(params.af_merge_gap_s * fs), int(params.af_min_episode_s * fs))


def atrial_activity(
    signal: np.ndarray, fs: float, samples: np.ndarray, labels: np.ndarray, params: RhythmParams
) -> np.ndarray:
    """Per beat: True where P waves look present, i.e. the rolling median similarity
    (correlation) over ``af_p_beats`` beats exceeds ``af_max_p_similarity``: of each normal
    beat with the previous normal beat, ectopic beats skipped (:func:`sinus_p_wave_similarity`),
    or with ``af_p_wave_reference`` "previous_beat", of successive beats ending a clean
    interval. Where fewer than half the beats give a similarity, no P waves are seen.
    (Taking the median over the last normal beats only, so that dense ectopy always leaves
    enough to judge, found more S beats on the development set but kept more false ones:
    a lower SVEB F-score, benchmarks/af_rule.py --development; docs/results.md.)"""
    if params.af_p_wave_reference == "previous_beat":
        clean = clean_intervals(labels)
        similarity = p_wave_similarity(signal, fs, samples, clean, params.af_p_window_s)
    else:
        similarity = sinus_p_wave_similarity(signal, fs, samples, labels, params.af_p_window_s)
    k = params.af_p_beats
    median = _running_median(similarity, k, min_count=k // 2)
    with np.errstate(invalid="ignore"):  # too few beats to judge: NaN, no P waves seen
        return median > params.af_max_p_similarity


# --- ventricular flutter / fibrillation from the signal ---------------------------------------


def ventricular_tachyarrhythmia_spans(
    signal: np.ndarray,
    fs: float,
    samples: np.ndarray,
    labels: np.ndarray,
    params: RhythmParams,
    presence: VentricularModel | None = None,
    unreadable: list[tuple[int, int]] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """(flutter, monomorphic VT) spans told from the signal: runs of ``vfl_min_windows``
    windows where the leads show a strong 2-9 Hz oscillation, except where regular non-V
    beats were detected; of those, windows whose cycles repeat alike at a steady amplitude
    below flutter's rate are VT, the others flutter / fibrillation.

    With the learnt `presence` trees, what they find and the rules do not is added
    (:func:`_with_learnt_presence`)."""
    empty = np.empty((0, 2), dtype=np.int64)
    feats = vfl_window_features(signal, fs, params)
    k = params.vfl_min_windows
    if len(feats["start"]) < k:
        return empty, empty
    low, high = params.vfl_band_hz
    peak_hz = np.median(feats["peak_hz"], axis=1)
    # Averaged over the leads: VF shows on every lead, a local artefact seldom does.
    positive = (
        (feats["concentration"].mean(axis=1) >= params.vfl_min_concentration)
        & (feats["tcsc"].mean(axis=1) >= params.vfl_min_tcsc)
        & (feats["std"].max(axis=1) >= params.vfl_min_std_mv)
        & (peak_hz > low)
        & (peak_hz < high)
    )
    window, step = int(round(params.vfl_window_s * fs)), int(round(params.vfl_step_s * fs))
    organised = _organised_beats(feats["start"], window, samples, labels, fs, params)
    positive &= ~organised
    # Windows in runs of k positive ones; each window stands for its central step.
    in_run = _in_runs(positive, k)
    monomorphic = _monomorphic_windows(signal, fs, feats, peak_hz, in_run, params)
    flutter, vt = in_run & ~monomorphic, in_run & monomorphic
    centre = feats["start"] + (window - step) // 2
    runs = run_spans(samples, labels, fs, "V", params.vt_min_beats, params.vt_min_rate_bpm)
    runs = np.asarray(union(runs.tolist()), dtype=np.int64).reshape(-1, 2)
    # a window stands for its central step: any overlap with a run of V beats counts
    in_vt_run = covered_before(runs, centre + step) > covered_before(runs, centre)
    not_bridged = organised  # the rules alone bridge flutter across runs of V beats
    # trees fitted on features computed with other window settings must not be read
    rows = None
    if presence is not None and feature_settings(params) == presence.settings:
        rows = window_rows(signal, fs, samples, labels, unreadable, params, feats)
    if rows is not None:
        # the rules' veto holds for the trees too: no flutter over organised beats
        present = presence.present(rows.rows) & ~organised
        flutter, vt = _with_learnt_presence(present, flutter, vt, in_vt_run, k)
        not_bridged = organised | in_vt_run
    spans = _told_spans(centre, step, flutter, vt, not_bridged, organised, fs, params)
    stops = np.sort(centre[organised | in_vt_run | vt])
    return _ended_before(spans, stops, step, window, params)


def _told_spans(
    centre: np.ndarray,
    step: int,
    flutter: np.ndarray,
    vt: np.ndarray,
    not_bridged: np.ndarray,
    organised: np.ndarray,
    fs: float,
    params: RhythmParams,
) -> tuple[np.ndarray, np.ndarray]:
    """(flutter, VT) spans of the windows so flagged, each window standing for its central
    step. Short gaps join stretches of one name, but never across `organised` beats,
    windows of the other name or `not_bridged` ones (a run of V beats, with the trees):
    a short VT between two flutter stretches stays VT."""
    gap = int(round(params.vfl_merge_gap_s * fs))
    vetoed = np.sort(centre[not_bridged | vt])
    flutter_spans = _bridged_spans(centre[flutter], step, vetoed, gap)
    vt_spans = _bridged_spans(centre[vt], step, np.sort(centre[organised | flutter]), gap)
    return flutter_spans, vt_spans


def _ended_before(
    spans: tuple[np.ndarray, np.ndarray],
    stops: np.ndarray,
    step: int,
    window: int,
    params: RhythmParams,
) -> tuple[np.ndarray, np.ndarray]:
    """The (flutter, VT) spans with each flutter stretch ended as `params.flutter_end` says:
    at its last window's central step, or at that window's end but never past the next of
    `stops` (sorted central steps of windows that are VT, organised beats or a run of V
    beats). Window starts round to the decimated rate: the next window may begin a sample
    before this step's end."""
    flutter_spans, vt_spans = spans
    if params.flutter_end == "window":
        end = flutter_spans[:, 1]
        after = np.searchsorted(stops, end - step, side="right")
        limit = np.append(stops, np.iinfo(np.int64).max)[after]
        flutter_spans[:, 1] = np.maximum(end, np.minimum(end + (window - step) // 2, limit))
    return flutter_spans, vt_spans


def _in_runs(flag: np.ndarray, k: int) -> np.ndarray:
    """The windows of `flag` that lie in runs of at least `k` flagged windows in a row."""
    out = np.zeros(len(flag), dtype=bool)
    if len(flag) < k:
        return out
    for shift in range(k):
        out[shift : len(flag) - k + 1 + shift] |= sliding_window_view(flag, k).all(1)
    return out


def _with_learnt_presence(
    present: np.ndarray,
    flutter: np.ndarray,
    vt: np.ndarray,
    in_vt_run: np.ndarray,
    min_windows: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(flutter, VT) windows: the rules' calls, plus flutter where the trees find a
    ventricular tachyarrhythmia (`present`) that the rules did not name, outside a run of V
    beats (which the beat-run VT layer calls VT already), in stretches of flutter at least
    `min_windows` long as the rules' are. The rules' VT is never touched: gating the rules'
    calls by the trees instead lost most of VFDB's VT out of fold (611's sustained VT, unlike
    any other record's; benchmarks/vt_vf_presence.py)."""
    added = present & ~vt & ~in_vt_run
    return flutter | (added & _in_runs(flutter | added, min_windows)), vt


def _monomorphic_windows(
    signal: np.ndarray,
    fs: float,
    feats: dict,
    peak_hz: np.ndarray,
    in_run: np.ndarray,
    params: RhythmParams,
) -> np.ndarray:
    """The flutter windows (`in_run`) that are monomorphic VT: cycles alike, amplitude
    steady, slower than flutter. Each feature is a running median over the flutter windows
    only (what lies outside a flutter stretch says nothing of it), averaged over the leads
    that carry a signal (a flat lead is perfectly "steady")."""
    rows = np.flatnonzero(in_run)
    if len(rows) == 0:
        return in_run
    vt = vt_window_features(signal, fs, params, rows, feats["peak_hz"][rows])
    live = feats["std"][rows] >= params.vfl_min_std_mv
    smooth = params.vt_smooth_windows

    def running(x_at_rows: np.ndarray) -> np.ndarray:
        x = np.full(len(in_run), np.nan)
        x[rows] = x_at_rows
        return _running_median(x, smooth)

    with np.errstate(invalid="ignore", divide="ignore"):  # no live lead: NaN, never VT
        similarity = running(_mean_where(vt["cycle_similarity"], live))
        amplitude_cv = running(_mean_where(vt["amplitude_cv"], live))
    monomorphic = (
        in_run
        & (similarity >= params.vt_min_cycle_similarity)
        & (amplitude_cv <= params.vt_max_amplitude_cv)
        & (running(peak_hz[rows]) < params.vt_max_rate_hz)
    )
    # A stretch shorter than flutter's minimum cannot stand alone: it takes its neighbours'
    # name (the mixed windows where VT starts and ends would otherwise read as flutter).
    return _absorb_short_runs(monomorphic, in_run, params.vfl_min_windows)


def _mean_where(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Row means of `x` over the columns `keep` marks; NaN where none is kept."""
    return np.where(keep, x, 0.0).sum(axis=1) / keep.sum(axis=1)


def _running_median(x: np.ndarray, size: int, min_count: int = 1) -> np.ndarray:
    """Running median over `size` values (size // 2 before each, the rest after) ignoring
    NaN; NaN where fewer than `min_count` values are finite."""
    before = size // 2
    padded = np.pad(np.asarray(x, dtype=float), (before, size - before - 1), constant_values=np.nan)
    windows = sliding_window_view(padded, size)
    out = np.full(len(x), np.nan)
    counted = np.isfinite(windows).sum(axis=1) >= max(min_count, 1)
    out[counted] = np.nanmedian(windows[counted], axis=1)
    return out


def _absorb_short_runs(flag: np.ndarray, inside: np.ndarray, min_length: int) -> np.ndarray:
    """`flag` where, within each stretch of `inside`, runs of one value shorter than
    `min_length` take the other value, the shortest (then the earliest) first, until none
    is left: a stretch ends with runs of at least `min_length` or with one value."""
    out = flag & inside
    while True:
        where = np.flatnonzero(inside)
        if len(where) == 0:
            return out
        stretch = np.r_[True, np.diff(where) > 1]
        new_run = stretch | np.r_[True, out[where[1:]] != out[where[:-1]]]
        starts = np.flatnonzero(new_run)
        stops = np.r_[starts[1:], len(where)]
        # only runs with a neighbour of the other value in their stretch can be absorbed
        alone = stretch[starts] & np.r_[stretch[stops[:-1]], True]
        lengths = np.where(alone, min_length, stops - starts)
        shortest = int(np.argmin(lengths))
        if lengths[shortest] >= min_length:
            return out
        run = where[starts[shortest] : stops[shortest]]
        out[run] = ~out[run]


def _bridged_spans(centres: np.ndarray, step: int, vetoed: np.ndarray, gap: int) -> np.ndarray:
    """Spans of the steps at `centres`, joined across gaps up to `gap` holding no `vetoed`
    position."""
    spans = _merge_spans(np.column_stack([centres, centres + step]), 0, 0)
    if len(spans) < 2:
        return spans.reshape(-1, 2)
    bridged = (spans[1:, 0] - spans[:-1, 1] <= gap) & (
        np.searchsorted(vetoed, spans[1:, 0]) == np.searchsorted(vetoed, spans[:-1, 1])
    )
    first = np.flatnonzero(np.r_[True, ~bridged])
    last = np.r_[first[1:] - 1, len(spans) - 1]
    return np.column_stack([spans[first, 0], spans[last, 1]]).reshape(-1, 2)


def _organised_beats(
    starts: np.ndarray,
    window: int,
    samples: np.ndarray,
    labels: np.ndarray,
    fs: float,
    params: RhythmParams,
) -> np.ndarray:
    """Windows holding at least ``vfl_veto_beats`` non-V beats at a regular rate: organised
    conducted rhythm, not VF."""
    normal = samples[labels != "V"] if len(samples) else samples
    lo = np.searchsorted(normal, starts)
    hi = np.searchsorted(normal, starts + window)
    count = hi - lo
    veto = np.zeros(len(starts), dtype=bool)
    candidates = np.flatnonzero(count >= params.vfl_veto_beats)
    if len(candidates) == 0:
        return veto
    rr = np.diff(normal).astype(float)
    cumulative = np.r_[0.0, np.cumsum(rr)]
    squares = np.r_[0.0, np.cumsum(rr**2)]
    a, b = lo[candidates], hi[candidates] - 1  # intervals a .. b-1 lie inside the window
    m = b - a
    mean = (cumulative[b] - cumulative[a]) / m
    var = np.maximum((squares[b] - squares[a]) / m - mean**2, 0.0)
    veto[candidates] = np.sqrt(var) / mean < params.vfl_veto_rr_cv
    return veto
