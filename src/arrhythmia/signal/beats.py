"""Fixed-length windows around beats."""

from __future__ import annotations

import numpy as np


def window_bounds(fs: float, pre_s: float, post_s: float) -> tuple[int, int]:
    """Samples before and after the beat's fiducial point."""
    return int(round(pre_s * fs)), int(round(post_s * fs))


def beat_windows(ecg: np.ndarray, beat_samples: np.ndarray, pre: int, post: int) -> np.ndarray:
    """(n_beats, n_leads, pre + post) windows; the signal is edge-padded so every beat gets one.

    `ecg` is (n_samples, n_leads). Window k covers samples [s_k - pre, s_k + post).
    """
    x = np.asarray(ecg)
    if x.ndim != 2:
        raise ValueError(f"ecg must be (n_samples, n_leads), got shape {x.shape}")
    samples = np.asarray(beat_samples, dtype=np.int64)
    if samples.size and (samples.min() < 0 or samples.max() >= len(x)):
        raise ValueError("beat sample outside the signal")
    padded = np.pad(x, ((pre, post), (0, 0)), mode="edge")
    offsets = np.arange(pre + post)
    # After padding by `pre`, the window of a beat at s starts at index s.
    index = samples[:, None] + offsets[None, :]
    return np.ascontiguousarray(padded[index].transpose(0, 2, 1), dtype=np.float32)
