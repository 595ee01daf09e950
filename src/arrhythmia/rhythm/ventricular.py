"""Whether a ventricular tachyarrhythmia (VT, flutter or fibrillation) is there, window by
window: gradient-boosted trees over what the flutter rules read of the signal and what the
beats say around each window, fitted by the train stage on DS1, VFDB and CUDB
(:mod:`arrhythmia.training.ventricular`) and carried in the model bundle.

The rules keep their calls; a stretch where the trees find VT or VF and the rules call
nothing becomes flutter, unless a run of V beats makes it VT already
(:func:`arrhythmia.rhythm.episodes.ventricular_tachyarrhythmia_spans`). The features, the
tree settings and the smoothing were set in ``benchmarks/vt_vf_windows.py`` (a study of
three-class trees); ``benchmarks/vt_vf_presence.py`` compares how the trees join the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from arrhythmia.rhythm.flutter_features import vfl_window_features, vt_window_features
from arrhythmia.signal.quality import covered_before, union
from arrhythmia.trees import TreeEnsemble

if TYPE_CHECKING:
    from arrhythmia.rhythm.episodes import RhythmParams

BEAT_CONTEXT_S = 4.0  # beats this far either side of a window's centre
CONTEXT_WINDOWS = 9  # every feature also as its running median over this many windows
_SIGNAL = [
    *(f"{k}_mean" for k in ("peak_hz", "concentration", "tcsc")),
    *(f"{k}_min" for k in ("peak_hz", "concentration", "tcsc")),
    "std_max",
    "live_lead_share",
    *(f"{k}_mean" for k in ("cycle_similarity", "amplitude_cv")),
    *(f"{k}_max" for k in ("cycle_similarity", "amplitude_cv")),
]
_BEATS = ["beats_per_s", "v_share", "n_share", "rr_median_s", "rr_cv", "unreadable_share"]
VENTRICULAR_FEATURES: tuple[str, ...] = (
    *_SIGNAL,
    *_BEATS,
    *(f"{name}_running_median" for name in (*_SIGNAL, *_BEATS)),
)


@dataclass(frozen=True)
class WindowRows:
    rows: np.ndarray  # (n_windows, len(VENTRICULAR_FEATURES))
    centres: np.ndarray  # each window's centre, in samples at the record's rate


def window_rows(
    signal: np.ndarray,
    fs: float,
    samples: np.ndarray,
    labels: np.ndarray,
    unreadable: list[tuple[int, int]],
    params: RhythmParams,
    feats: dict | None = None,
) -> WindowRows | None:
    """The feature row of every flutter-rule window (``vfl_window_s`` long, every
    ``vfl_step_s``) of a record; None where it has fewer than CONTEXT_WINDOWS of them (a
    strip of about 12 s or less). `samples` and `labels` are the beats and their classes
    before any rhythm rule, `unreadable` the stretches the signal quality alone refused;
    `feats` this signal's :func:`vfl_window_features`, where already computed."""
    signal = np.asarray(signal)
    signal = signal[:, None] if signal.ndim == 1 else signal
    n_samples = len(signal)
    columns, centres = _signal_columns(signal, fs, params, feats)
    if len(centres) < CONTEXT_WINDOWS:
        return None
    centres = np.minimum(centres, n_samples - 1)
    samples, labels = np.asarray(samples), np.asarray(labels)
    beats = _beat_columns(samples, labels, fs, centres, unreadable, n_samples)
    x = np.column_stack([*columns, beats])
    half = CONTEXT_WINDOWS // 2
    padded = np.pad(x, ((half, half), (0, 0)), mode="edge")
    running = np.median(sliding_window_view(padded, CONTEXT_WINDOWS, axis=0), axis=2)
    return WindowRows(np.nan_to_num(np.c_[x, running], nan=-1.0), centres)


def _signal_columns(
    signal: np.ndarray, fs: float, params: RhythmParams, feats: dict | None
) -> tuple[list, np.ndarray]:
    """The rules' window features combined over the leads, and each window's centre."""
    feats = vfl_window_features(signal, fs, params) if feats is None else feats
    every = np.arange(len(feats["start"]))
    # every window's cycle features, not only the flutter windows' as the rules compute them
    shape = vt_window_features(signal, fs, params, every, feats["peak_hz"])
    columns = [feats[k].mean(1) for k in ("peak_hz", "concentration", "tcsc")]
    columns += [feats[k].min(1) for k in ("peak_hz", "concentration", "tcsc")]
    columns += [feats["std"].max(1), (feats["std"] >= params.vfl_min_std_mv).mean(1)]
    columns += [shape[k].mean(1) for k in ("cycle_similarity", "amplitude_cv")]
    columns += [shape[k].max(1) for k in ("cycle_similarity", "amplitude_cv")]
    return columns, feats["start"] + int(params.vfl_window_s * fs) // 2


def _beat_columns(
    samples: np.ndarray,
    labels: np.ndarray,
    fs: float,
    centres: np.ndarray,
    unreadable: list[tuple[int, int]],
    n_samples: int,
) -> np.ndarray:
    """What the beats say about the BEAT_CONTEXT_S either side of each centre: their rate,
    shares of V and N beats, the median and variation of their RR intervals (-1 where fewer
    than two intervals), and the share of those seconds unreadable."""
    half = int(BEAT_CONTEXT_S * fs)
    lo, hi = np.searchsorted(samples, centres - half), np.searchsorted(samples, centres + half)
    count = hi - lo
    v, n = (np.r_[0, np.cumsum(labels == c)] for c in ("V", "N"))
    rr = np.diff(samples) / fs
    rr_median, rr_cv = np.full(len(centres), -1.0), np.full(len(centres), -1.0)
    for i in np.flatnonzero(hi - lo >= 3):  # two intervals or more inside
        x = rr[lo[i] : hi[i] - 1]
        rr_median[i], rr_cv[i] = np.median(x), x.std() / x.mean()
    first, last = np.clip(centres - half, 0, n_samples), np.clip(centres + half, 0, n_samples)
    spans = np.asarray(union(unreadable), dtype=np.int64).reshape(-1, 2)
    lost = covered_before(spans, last) - covered_before(spans, first)
    with np.errstate(invalid="ignore", divide="ignore"):  # no beat: -1, not a share
        v_share = np.where(count > 0, (v[hi] - v[lo]) / count, -1.0)
        n_share = np.where(count > 0, (n[hi] - n[lo]) / count, -1.0)
    return np.column_stack(
        [
            count / (2 * BEAT_CONTEXT_S),
            v_share,
            n_share,
            rr_median,
            rr_cv,
            lost / np.maximum(last - first, 1),
        ]
    )


@dataclass(frozen=True)
class VentricularModel:
    """The presence trees: a window holds VT or VF where their probability, averaged over
    `smooth_windows` windows, is at least `threshold`."""

    trees: TreeEnsemble
    threshold: float
    smooth_windows: int
    feature_names: tuple[str, ...] = VENTRICULAR_FEATURES
    # the window settings the features were computed with (feature_settings)
    settings: dict = field(default_factory=lambda: feature_settings())

    def probability(self, rows: np.ndarray) -> np.ndarray:
        """Each window's probability of VT or VF, averaged over its `smooth_windows`."""
        p = self.trees.proba(np.atleast_2d(rows))
        k = max(1, self.smooth_windows)
        padded = np.pad(p, (k // 2, k - 1 - k // 2), mode="edge")
        return sliding_window_view(padded, k).mean(axis=1)

    def present(self, rows: np.ndarray) -> np.ndarray:
        return self.probability(rows) >= self.threshold

    def to_dict(self) -> dict:
        """Plain lists and numbers (what a weights-only bundle may hold), with the settings
        the features were computed with."""
        return {
            **self.trees.to_plain(),
            "presence_threshold": self.threshold,  # "threshold" holds the nodes' thresholds
            "smooth_windows": self.smooth_windows,
            "feature_names": list(self.feature_names),
            "feature_settings": self.settings,
        }

    @classmethod
    def from_dict(cls, plain: dict) -> VentricularModel:
        """The model `to_dict` wrote; ValueError where its features are not this version's
        or its trees are damaged."""
        names = tuple(plain["feature_names"])
        if names != VENTRICULAR_FEATURES or plain["feature_settings"] != feature_settings():
            raise ValueError("its ventricular window features are not this version's")
        trees = TreeEnsemble.from_plain(plain, len(names))
        threshold, smooth = float(plain["presence_threshold"]), int(plain["smooth_windows"])
        return cls(trees, threshold, smooth, names, dict(plain["feature_settings"]))


def feature_settings(rules: RhythmParams | None = None) -> dict:
    """What the window features depend on beyond their names, with `rules` (default: this
    version's): trees fitted on features computed otherwise must not be read."""
    if rules is None:
        from arrhythmia.rhythm.episodes import RhythmParams  # episodes imports this module

        rules = RhythmParams()
    return {
        "context_windows": CONTEXT_WINDOWS,
        "beat_context_s": BEAT_CONTEXT_S,
        "window_s": rules.vfl_window_s,
        "step_s": rules.vfl_step_s,
        "rate_hz": rules.vfl_rate_hz,
        "band_hz": list(rules.vfl_band_hz),
        "min_std_mv": rules.vfl_min_std_mv,
    }
