"""The features a learnt strip AF call reads (:mod:`arrhythmia.rhythm.strip_model`): how
irregular the RR intervals are, whether the beats share a P wave, how alike the beats
are, what the beat classifier saw and how clean the strip is. One row per strip,
no NaN: a feature that cannot be measured takes MISSING, a value below every feature's range."""

from __future__ import annotations

import numpy as np
from scipy.signal import sosfiltfilt

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.rhythm.atrial import P_WINDOW_S, clean_intervals
from arrhythmia.signal.filters import bandpass_sos

MISSING = -9.0  # below every feature's range (correlations >= -1): the trees split it off
BEAT_WINDOW_S = (0.3, 0.5)  # before and after the R peak: P wave to T wave
QRS_HALF_S = 0.06
F_WAVE_HZ = (4.0, 9.0)  # fibrillatory waves: 4-9 Hz (240-540 per minute)
LOWPASS_HZ = 40.0  # as the beat windows; below 0.45 fs for strips sampled slower than 89 Hz
RR_FEATURES = (
    "clean_share",
    "hr",
    "hr_all",
    "cv",
    "cv_all",
    "irregularity",
    "irr_mean",
    "rmssd",
    "pnn50",
    "pnn_rel",
    "irr_all",
    "rr_q10",
    "rr_q90",
    "rr_min",
    "rr_max",
    "sd1",
    "sd1_sd2",
    "tpr",
    "ectopic_pairs",
    "cosen",
    "rr_entropy",
    "alternation",
)
SHAPE_FEATURES = (
    "p_template_amp",
    "p_resid",
    "resid_all",
    "beat_corr_med",
    "beat_corr_q10",
    "p_corr_med",
    "p_consec_med",
    "p_consec_q25",
    "fwave_share",
)
# No absolute amplitude or spectral share of the whole strip: those tell the recording device
# (its filters, its units) as much as the rhythm, and the trees learn from one device.
STRIP_FEATURES = (
    "duration",
    "unreadable",
    "n_beats",
    "share_S",
    "share_V",
    "share_F",
    "share_Q",
    "mean_pS",
    "mean_pV",
    "q90_pS",
    *RR_FEATURES,
    *SHAPE_FEATURES,
)


def coefficient_of_sample_entropy(rr: np.ndarray, tolerance_s: float = 0.03) -> float:
    """Lake & Moorman (2011)'s COSEn: sample entropy (m = 1) of the RR series at a fixed
    tolerance, plus ln(2 r) - ln(mean RR); NaN where no template pair matches."""
    if len(rr) < 4:
        return np.nan
    pairs = {}
    for m in (1, 2):
        x = np.lib.stride_tricks.sliding_window_view(rr, m)[: len(rr) - 1]
        distance = np.abs(x[:, None, :] - x[None, :, :]).max(axis=2)
        pairs[m] = (distance <= tolerance_s).sum() - len(x)
    if pairs[1] == 0 or pairs[2] == 0:
        return np.nan
    return float(-np.log(pairs[2] / pairs[1]) + np.log(2 * tolerance_s) - np.log(rr.mean()))


def rr_features(samples: np.ndarray, labels: np.ndarray, fs: float) -> dict[str, float]:
    """RR irregularity over the clean intervals (no V, F or Q beat at either end)."""
    rr = np.diff(samples) / fs
    clean = clean_intervals(labels)
    rr_clean = rr[clean] if clean.sum() >= 3 else rr
    median = float(np.median(rr_clean))
    pairs = clean[:-1] & clean[1:]
    step = np.diff(rr)
    step_clean = step[pairs] if pairs.sum() >= 2 else step
    sd1 = np.std(step) / np.sqrt(2)
    sd2 = np.sqrt(max(2 * np.var(rr) - sd1**2, 1e-12))
    short_then_long = (rr[:-1] < 0.85 * median) & (rr[1:] > 1.1 * median)
    counts, _ = np.histogram(rr_clean / median, bins=16, range=(0.4, 2.0))
    share = counts[counts > 0] / max(counts.sum(), 1)
    turning = (rr[1:-1] - rr[:-2]) * (rr[1:-1] - rr[2:]) > 0
    return {
        "clean_share": clean.mean(),
        "hr": 60 / median,
        "hr_all": 60 / np.median(rr),
        "cv": rr_clean.std() / rr_clean.mean(),
        "cv_all": rr.std() / rr.mean(),
        "irregularity": np.median(np.abs(step_clean)) / median,
        "irr_mean": np.mean(np.abs(step_clean)) / median,
        "rmssd": np.sqrt(np.mean(step_clean**2)) / median,
        "pnn50": np.mean(np.abs(step_clean) > 0.05),
        "pnn_rel": np.mean(np.abs(step_clean) > 0.08 * median),
        "irr_all": np.median(np.abs(step)) / np.median(rr),
        "rr_q10": np.quantile(rr_clean, 0.1) / median,
        "rr_q90": np.quantile(rr_clean, 0.9) / median,
        "rr_min": rr.min() / median,
        "rr_max": rr.max() / median,
        "sd1": sd1 / median,
        "sd1_sd2": sd1 / sd2,
        "tpr": turning.mean(),
        "ectopic_pairs": (short_then_long[pairs] if pairs.any() else short_then_long).mean(),
        "cosen": coefficient_of_sample_entropy(rr_clean),
        "rr_entropy": float(-(share * np.log(share)).sum()),
        "alternation": np.mean(np.sign(step[1:]) != np.sign(step[:-1])),
    }


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = rows - rows.mean(axis=-1, keepdims=True)
    return rows / (np.linalg.norm(rows, axis=-1, keepdims=True) + 1e-12)


def shape_features(
    lead: np.ndarray, fs: float, samples: np.ndarray, ectopic: np.ndarray
) -> dict[str, float]:
    """P waves and whole beats against the strip's median non-ectopic beat, and what is
    left of each beat once that template is taken away (f waves in AF)."""
    pre, post = (int(s * fs) for s in BEAT_WINDOW_S)
    inside = (samples >= pre) & (samples < len(lead) - post)
    if inside.sum() < 3:
        return {}
    band = bandpass_sos(2, 0.5, min(LOWPASS_HZ, 0.45 * fs), fs)
    x = sosfiltfilt(band, np.nan_to_num(np.asarray(lead, dtype=np.float64)))
    beats = x[samples[inside, None] + np.arange(-pre, post)]
    normal = ~ectopic[inside]
    template = np.median(beats[normal] if normal.sum() >= 3 else beats, axis=0)
    qrs = slice(pre - int(QRS_HALF_S * fs), pre + int(QRS_HALF_S * fs))
    amplitude = np.ptp(template[qrs]) + 1e-9  # P waves and residuals are read relative to it
    p = slice(pre - int(P_WINDOW_S[0] * fs), pre - int(P_WINDOW_S[1] * fs))
    p_template = template[p] - np.linspace(template[p][0], template[p][-1], p.stop - p.start)
    residual = beats - template
    consecutive = np.einsum("ij,ij->i", _unit(beats[1:, p]), _unit(beats[:-1, p]))
    spectrum = np.abs(np.fft.rfft(residual * np.hanning(beats.shape[1]), axis=1)) ** 2
    freqs = np.fft.rfftfreq(beats.shape[1], 1 / fs)
    total = spectrum[:, (freqs > 1) & (freqs < 40)].sum(axis=1) + 1e-12
    f_band = (freqs >= F_WAVE_HZ[0]) & (freqs <= F_WAVE_HZ[1])
    beat_corr = _unit(beats) @ _unit(template)  # the whole beat, P to T
    return {
        "p_template_amp": np.ptp(p_template) / amplitude,
        "p_resid": np.median(residual[:, p].std(axis=1)) / amplitude,
        "resid_all": np.median(residual.std(axis=1)) / amplitude,
        "beat_corr_med": np.median(beat_corr),
        "beat_corr_q10": np.quantile(beat_corr, 0.1),
        "p_corr_med": np.median(_unit(beats[:, p]) @ _unit(template[p])),
        "p_consec_med": np.median(consecutive),
        "p_consec_q25": np.quantile(consecutive, 0.25),
        "fwave_share": np.median(spectrum[:, f_band].sum(axis=1) / total),
    }


def strip_feature_vector(
    samples: np.ndarray,
    labels: np.ndarray,
    proba: np.ndarray,
    fs: float,
    lead: np.ndarray,
    unreadable_samples: int = 0,
) -> np.ndarray:
    """(len(STRIP_FEATURES),) float64 of one strip: its beats (positions, AAMI letters and
    class probabilities before any rhythm rule) and its primary lead."""
    samples = np.asarray(samples, dtype=np.int64)
    labels = np.asarray(labels)
    proba = np.asarray(proba, dtype=np.float64).reshape(-1, len(AAMI_CLASSES))
    n = len(lead)
    found: dict[str, float] = {
        "duration": n / fs,
        "unreadable": unreadable_samples / max(n, 1),
        "n_beats": len(samples),
        **{f"share_{c}": float(np.mean(labels == c)) if len(labels) else 0.0 for c in "SVFQ"},
    }
    if len(samples):
        p_s, p_v = proba[:, AAMI_CLASSES.index("S")], proba[:, AAMI_CLASSES.index("V")]
        found.update(mean_pS=p_s.mean(), mean_pV=p_v.mean(), q90_pS=np.quantile(p_s, 0.9))
    if len(samples) >= 4:
        found.update(rr_features(samples, labels, fs))
        ectopic = ~np.isin(labels, ("N", "S"))
        found.update(shape_features(lead, fs, samples, ectopic))
    row = np.array([found.get(name, np.nan) for name in STRIP_FEATURES], dtype=np.float64)
    return np.where(np.isfinite(row), row, MISSING)
