"""Beat labels made consistent with the rhythm they sit in.

In atrial fibrillation or flutter the atria do not beat in a rhythm that a beat could come
early against: an irregular RR interval there is the rhythm, not a premature beat. MITDB's
annotators label those beats N, so a supraventricular premature (S) call inside such an
episode is a contradiction, and it becomes N.
"""

from __future__ import annotations

import numpy as np

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.rhythm.episodes import Episode
from arrhythmia.signal.quality import inside

# MITDB aux-note names; AFL applies once the rhythm rules report flutter (they do not yet)
NO_PREMATURE_BEATS_IN = ("AFIB", "AFL")
N, S = AAMI_CLASSES.index("N"), AAMI_CLASSES.index("S")


def no_premature_in_fibrillation(
    samples: np.ndarray, labels: np.ndarray, proba: np.ndarray, episodes: list[Episode]
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, proba) with every S beat inside an AF or flutter episode called N, its S
    probability moved to N (so the label stays the argmax); other beats unchanged."""
    spans = [(e.start, e.end) for e in episodes if e.rhythm in NO_PREMATURE_BEATS_IN]
    relabel = inside(samples, spans) & (labels == "S")
    if not relabel.any():
        return labels, proba
    labels, proba = labels.copy(), proba.copy()
    labels[relabel] = "N"
    proba[relabel, N] += proba[relabel, S]
    proba[relabel, S] = 0.0
    return labels, proba
