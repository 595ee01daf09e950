"""Model inputs from beat windows: the beat, the beat against the patient's own dominant
beat, and RR features on a log scale. Shared by training, evaluation and inference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from arrhythmia.config import TEMPLATE_RULES

MIN_TEMPLATE_BEATS = 8
# sinus_cluster: morphology groups per record, over the QRS (and P) stretch of both leads
N_MORPHOLOGY_GROUPS = 4
MORPHOLOGY_SPAN_S = (-0.25, 0.15)
SAME_SHAPE = 0.95  # correlation of two group centres that are one morphology


def record_templates(
    windows: np.ndarray, record_ids: np.ndarray, include: np.ndarray | None = None
) -> np.ndarray:
    """Per-beat copy of its record's dominant beat: the median window of the record's beats
    (of those in `include`, when at least MIN_TEMPLATE_BEATS of them are).

    `beat - template` shows how far a beat departs from that patient's own shape, which
    transfers across patients better than the raw morphology.
    """
    templates = np.empty_like(windows)
    for record in np.unique(record_ids):
        mask = record_ids == record
        chosen = mask if include is None else mask & include
        if chosen.sum() < MIN_TEMPLATE_BEATS:
            chosen = mask
        templates[mask] = np.median(windows[chosen], axis=0)
    return templates


def template_beats(
    rr: np.ndarray,
    rr_names: Sequence[str],
    rule: str,
    min_ratio: float,
    windows: np.ndarray | None = None,
    record_ids: np.ndarray | None = None,
    fs: float = 0.0,
    window_pre: int = 0,
) -> np.ndarray | None:
    """Which beats make the template: all of them (None); only those that are not
    premature against the preceding sinus cycle (pre_over_upper >= min_ratio), so the
    template is the patient's sinus beat even where ectopic beats are the majority; or,
    for `sinus_cluster`, the largest morphology group of those (per record: `windows` and
    `record_ids` needed), so that non-premature ectopic beats (a long ventricular run,
    escape beats) do not blur it either."""
    if rule == "all":
        return None
    if rule not in TEMPLATE_RULES:
        raise ValueError(f"template rule {rule!r} is not one of {TEMPLATE_RULES}")
    not_premature = rr[:, list(rr_names).index("pre_over_upper")] >= min_ratio
    if rule == "non_premature":
        return not_premature
    if windows is None or record_ids is None:
        raise ValueError("the sinus_cluster template needs the beat windows and their records")
    include = np.zeros(len(rr), dtype=bool)
    lo, hi = (window_pre + round(s * fs) for s in MORPHOLOGY_SPAN_S)
    span = slice(max(lo, 0), min(hi, windows.shape[-1]))
    for record in np.unique(record_ids):
        candidates = np.flatnonzero((record_ids == record) & not_premature)
        include[candidates[largest_morphology_group(windows[candidates, :, span])]] = True
    return include


def largest_morphology_group(stretches: np.ndarray) -> np.ndarray:
    """Indices of the largest morphology group among beats' (n, leads, samples) stretches:
    N_MORPHOLOGY_GROUPS k-means groups (deterministic), those whose centres look alike
    (correlation >= SAME_SHAPE) joined, since k-means also splits one shape by its small
    variations; every beat when too few to group."""
    if len(stretches) < N_MORPHOLOGY_GROUPS * MIN_TEMPLATE_BEATS:
        return np.arange(len(stretches))
    from sklearn.cluster import KMeans

    x = stretches[:, :, ::4].reshape(len(stretches), -1).astype(np.float64)
    fitted = KMeans(N_MORPHOLOGY_GROUPS, n_init=3, random_state=0).fit(x)
    alike = np.nan_to_num(np.corrcoef(fitted.cluster_centers_)) >= SAME_SHAPE
    np.fill_diagonal(alike, True)  # a flat centre has no correlation, even with itself
    joined = np.arange(N_MORPHOLOGY_GROUPS)  # each group's representative, after joining
    for _ in range(N_MORPHOLOGY_GROUPS):  # transitive: a alike b, b alike c joins all three
        joined = np.array([joined[alike[g]].min() for g in range(N_MORPHOLOGY_GROUPS)])
    group = joined[fitted.labels_]
    return np.flatnonzero(group == np.bincount(group).argmax())


def beat_channels(
    windows: np.ndarray,
    record_ids: np.ndarray,
    include: np.ndarray | None = None,
    neighbours: bool = False,
) -> np.ndarray:
    """(n, 2 * n_leads, L) float32: the beat's leads, then beat minus template per lead;
    with `neighbours`, (n, 4 * n_leads, L): then the previous and the next beat's leads."""
    templates = record_templates(windows, record_ids, include)
    channels = [windows, windows - templates]
    if neighbours:
        previous, following = neighbour_index(record_ids)
        channels += [windows[previous], windows[following]]
    return np.concatenate(channels, axis=1).astype(np.float32)


def neighbour_index(record_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each beat's previous and next beat in the same record (beats in time order
    within a record); the beat itself at its record's ends."""
    index = np.arange(len(record_ids))
    same_as_previous = np.r_[False, record_ids[1:] == record_ids[:-1]]
    same_as_next = np.r_[record_ids[:-1] == record_ids[1:], False]
    return np.where(same_as_previous, index - 1, index), np.where(same_as_next, index + 1, index)


def rr_inputs(rr: np.ndarray, rr_names: Sequence[str], selected: Sequence[str]) -> np.ndarray:
    """The selected RR features, log-scaled so that ratios are centred on 0."""
    names = list(rr_names)
    missing = [name for name in selected if name not in names]
    if missing:
        raise ValueError(f"RR features {missing} are not in the dataset ({names})")
    columns = [names.index(name) for name in selected]
    return np.log(np.clip(rr[:, columns], 1e-3, None)).astype(np.float32)


QRS_SPAN_S = (-0.05, 0.10)  # around the R peak
P_SPAN_S = (-0.25, -0.07)  # where the P wave of a sinus beat lies
SHAPE_FEATURES = ("qrs_similarity", "p_similarity", "qrs_amplitude", "p_amplitude")


def _correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    return (a * b).sum(axis=-1) / np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1) + 1e-12)


def shape_features(
    windows: np.ndarray, templates: np.ndarray, fs: float, window_pre: int
) -> np.ndarray:
    """(n, 4 * n_leads) float32: per lead, the QRS and the P-wave stretch against the
    patient's own template (correlation, and log amplitude ratio). An ectopic atrial beat
    keeps a normal QRS but changes or hides its P wave; a ventricular one changes the QRS."""

    def span(bounds: tuple[float, float]) -> slice:
        lo, hi = (window_pre + round(s * fs) for s in bounds)
        return slice(max(lo, 0), min(hi, windows.shape[-1]))

    qrs, p = span(QRS_SPAN_S), span(P_SPAN_S)
    columns = []
    for lead in range(windows.shape[1]):
        beat, template = windows[:, lead].astype(np.float64), templates[:, lead]
        q_beat, q_template = np.abs(beat[:, qrs]).max(axis=1), np.abs(template[:, qrs]).max(axis=1)
        p_beat, p_template = beat[:, p].std(axis=1), template[:, p].std(axis=1)
        columns += [
            _correlation(beat[:, qrs], template[:, qrs]),
            _correlation(beat[:, p], template[:, p]),
            np.log((q_beat + 1e-3) / (q_template + 1e-3)),
            np.log((p_beat + 1e-3) / (p_template + 1e-3)),
        ]
    return np.column_stack(columns).astype(np.float32)


def shape_against_template(
    windows: np.ndarray,
    record_ids: np.ndarray,
    include: np.ndarray | None,
    fs: float,
    window_pre: int,
) -> np.ndarray:
    """shape_features against each record's template (made of the `include` beats)."""
    return shape_features(windows, record_templates(windows, record_ids, include), fs, window_pre)
