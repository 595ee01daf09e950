"""One record in, per-beat model inputs out: the preprocessing shared by training and inference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arrhythmia.config import PreprocessParams
from arrhythmia.signal.beats import beat_windows, window_bounds
from arrhythmia.signal.ecg import N_LEADS, EcgRecord
from arrhythmia.signal.filters import normalise_amplitude, remove_noise
from arrhythmia.signal.rr import rr_features


@dataclass(frozen=True)
class BeatFeatures:
    windows: np.ndarray  # (n_beats, N_LEADS, window_length) float32
    rr: np.ndarray  # (n_beats, len(RR_FEATURES)) float32
    leads: tuple[str, ...]


def clean_signal(record: EcgRecord, beat_samples: np.ndarray, p: PreprocessParams) -> np.ndarray:
    """Filtered, amplitude-normalised (n_samples, N_LEADS) signal of the first two leads
    (the caller orders them: primary lead first).

    A single-lead record gets its lead duplicated so the model always sees two channels.
    """
    signal = record.signal[:, :N_LEADS]
    if signal.shape[1] < N_LEADS:
        signal = np.repeat(signal[:, :1], N_LEADS, axis=1)
    filtered = remove_noise(
        signal,
        record.fs,
        highpass_hz=p.highpass_hz,
        lowpass_hz=p.lowpass_hz,
        powerline_hz=p.powerline_hz,
        notch_quality=p.notch_quality,
        order=p.filter_order,
    )
    return normalise_amplitude(filtered, beat_samples, record.fs)


def beat_features(record: EcgRecord, beat_samples: np.ndarray, p: PreprocessParams) -> BeatFeatures:
    """Windows (both leads) and RR features of every beat of one record."""
    signal = clean_signal(record, beat_samples, p)
    pre, post = window_bounds(record.fs, p.window_pre_s, p.window_post_s)
    windows = beat_windows(signal, beat_samples, pre, post)
    rr = preprocessed_rr(beat_samples, record.fs, p)
    return BeatFeatures(windows=windows, rr=rr, leads=record.leads[:N_LEADS])


def preprocessed_rr(beat_samples: np.ndarray, fs: float, p: PreprocessParams) -> np.ndarray:
    """RR features with the preprocessing's settings: the same for training and diagnosis."""
    return rr_features(
        beat_samples,
        fs,
        local_beats=p.local_rr_beats,
        sinus_beats=p.sinus_rr_beats,
        max_rr_s=p.max_rr_s,
    )
