"""ANSI/AAMI EC57 gross statistics and standard classification metrics.

Everything here is a pure function of class indices (0..4 in the order of
:data:`arrhythmia.data.aami.AAMI_CLASSES`: N, S, V, F, Q) except the explicit
writer :func:`write_metrics_json`.

Conventions
-----------
* Predictions are made at the reference beat positions, so every reference beat has
  exactly one prediction and there are no unmatched (missed or extra) detections.
* Confusion matrices have rows = reference (true) class and columns = predicted class,
  both in AAMI_CLASSES order. In the comments ``Xy`` means "reference X predicted y",
  e.g. ``Nv`` is a reference N beat the classifier called V.
* Every "percentage" (Se, +P, FPR, accuracy, F1, ...) is returned as a fraction in
  [0, 1]; multiply by 100 for display.
* A ratio whose denominator is zero is ``float("nan")``. :func:`to_jsonable` (used by
  :func:`write_metrics_json`) turns NaN/inf into JSON ``null``;
  :func:`flatten_metrics` drops them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from arrhythmia.atomic import write_json
from arrhythmia.data.aami import AAMI_CLASSES

N_CLASSES = len(AAMI_CLASSES)
_N, _S, _V, _F, _Q = (AAMI_CLASSES.index(c) for c in ("N", "S", "V", "F", "Q"))


def _as_indices(y: Sequence[int] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ValueError(f"{name} must hold integer class indices")
        arr = arr.astype(np.int64)
    if arr.min() < 0 or arr.max() >= N_CLASSES:
        raise ValueError(f"{name} holds class indices outside 0..{N_CLASSES - 1}")
    return arr.astype(np.int64)


def _check_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = _as_indices(y_true, "y_true")
    p = _as_indices(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} vs {p.size}")
    return t, p


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def confusion(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray) -> np.ndarray:
    """5x5 confusion matrix, rows = reference, columns = predicted, AAMI_CLASSES order."""
    t, p = _check_pair(y_true, y_pred)
    return confusion_matrix(t, p, labels=list(range(N_CLASSES))).astype(np.int64)


def ec57_statistics(cm: np.ndarray | Sequence[Sequence[int]]) -> dict[str, float | int]:
    """EC57 gross VEB and SVEB statistics from a 5x5 confusion matrix (rows = reference).

    Definitions follow de Chazal et al. 2004 (IEEE TBME 51(7)) and ANSI/AAMI EC57:2012
    as used in the literature; the exact choices made here:

    VEB (ventricular ectopic beat, class V)
        * ``veb_tp = Vv``
        * ``veb_fn = sum(row V) - Vv`` -- reference V labelled anything else
          (n, s, f *or* q), so ``veb_se = Vv / sum(row V)``.
        * ``veb_fp = Nv + Sv`` -- only reference N and S beats called V count; reference
          F beats called V (Fv) and reference Q beats called V (Qv) are *not* false
          positives (EC57: fusion beats called V are not penalised; unclassifiable
          reference beats are not counted). ``veb_pp = Vv / (Nv + Sv + Vv)``.
        * negatives are the reference N and S beats, so
          ``veb_tn = sum(row N) + sum(row S) - veb_fp`` and
          ``veb_fpr = veb_fp / (veb_tn + veb_fp) = (Nv + Sv) / (sum(row N) + sum(row S))``.
        * ``veb_acc = (veb_tp + veb_tn) / (sum(row N) + sum(row S) + sum(row V))``.

    SVEB (supraventricular ectopic beat, class S)
        * ``sveb_tp = Ss``; ``sveb_fn = sum(row S) - Ss``; ``sveb_se = Ss / sum(row S)``.
        * ``sveb_fp = Ns + Vs`` (Fs and Qs are not counted);
          ``sveb_pp = Ss / (Ns + Vs + Ss)``.
        * negatives are the reference N and V beats:
          ``sveb_tn = sum(row N) + sum(row V) - sveb_fp``,
          ``sveb_fpr = (Ns + Vs) / (sum(row N) + sum(row V))``.
        * ``sveb_acc = (sveb_tp + sveb_tn) / (sum(row N) + sum(row S) + sum(row V))``.

    So reference Q (and F) beats never enter the VEB/SVEB statistics, while reference
    V/S beats that the classifier called Q do count as missed (false negatives).

    Also returned: ``n_beats``, ``n_ref_<C>`` (reference beats per class, row sums) and
    ``n_pred_<C>`` (predicted beats per class, column sums) for C in N, S, V, F, Q.

    Rates are fractions in [0, 1]; a zero denominator gives ``float("nan")``.
    """
    m = np.asarray(cm, dtype=np.int64)
    if m.shape != (N_CLASSES, N_CLASSES):
        raise ValueError(f"confusion matrix must be {N_CLASSES}x{N_CLASSES}, got {m.shape}")
    if (m < 0).any():
        raise ValueError("confusion matrix holds negative counts")

    ref = m.sum(axis=1)
    pred = m.sum(axis=0)
    counted = int(ref[_N]) + int(ref[_S]) + int(ref[_V])
    out: dict[str, float | int] = {
        **_ectopic_statistics(m, "veb", _V, (_N, _S), counted),
        **_ectopic_statistics(m, "sveb", _S, (_N, _V), counted),
        "n_beats": int(m.sum()),
    }
    for i, name in enumerate(AAMI_CLASSES):
        out[f"n_ref_{name}"] = int(ref[i])
    for i, name in enumerate(AAMI_CLASSES):
        out[f"n_pred_{name}"] = int(pred[i])
    return out


def _ectopic_statistics(
    m: np.ndarray, prefix: str, c: int, negatives: tuple[int, int], counted: int
) -> dict[str, float | int]:
    """Se, +P, FPR, accuracy and the counts of ectopic class `c` (see ec57_statistics):
    its false positives are the reference `negatives` beats called `c`."""
    ref = m.sum(axis=1)
    a, b = negatives
    tp = int(m[c, c])
    fn = int(ref[c]) - tp
    fp = int(m[a, c] + m[b, c])
    tn = int(ref[a]) + int(ref[b]) - fp
    figures = {
        "se": _ratio(tp, tp + fn),
        "pp": _ratio(tp, tp + fp),
        "fpr": _ratio(fp, fp + tn),
        "acc": _ratio(tp + tn, counted),
        "tp": tp,
        "fn": fn,
        "fp": fp,
        "tn": tn,
    }
    return {f"{prefix}_{key}": value for key, value in figures.items()}


def ectopic_f_scores(cm: np.ndarray) -> np.ndarray:
    """The SVEB and VEB F-scores (harmonic mean of the EC57 Se and +P, 0 where either is
    undefined or both are 0) of confusion matrices stacked along the leading axes:
    (..., 5, 5) -> (..., 2), in the order (SVEB, VEB)."""
    m = np.asarray(cm, dtype=np.float64)
    scores = []
    for c, (a, b) in ((_S, (_N, _V)), (_V, (_N, _S))):
        tp = m[..., c, c]
        found, called = m[..., c, :].sum(axis=-1), tp + m[..., a, c] + m[..., b, c]
        with np.errstate(invalid="ignore", divide="ignore"):
            se, pp = tp / found, tp / called
            f = 2 * se * pp / (se + pp)
        scores.append(np.where(np.isfinite(f), f, 0.0))
    return np.stack(scores, axis=-1)


def classification_metrics(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray
) -> dict[str, float | int]:
    """Accuracy, macro F1 and per-class precision / recall / F1 / support.

    * ``accuracy``: fraction of beats whose predicted class equals the reference.
    * ``macro_f1``: unweighted mean F1 over the classes *present in the reference*
      (``f1_score(average="macro", labels=<present labels>, zero_division=0)``), so a
      class absent from the reference (e.g. Q in DS2) neither adds a 0 nor a 1.
    * ``precision_<C>``, ``recall_<C>``, ``f1_<C>``, ``support_<C>`` for C in
      N, S, V, F, Q (``precision_recall_fscore_support(labels=range(5),
      zero_division=0)``): an undefined ratio is reported as 0; support is the number of
      reference beats of that class.

    Empty inputs give NaN accuracy and macro F1.
    """
    t, p = _check_pair(y_true, y_pred)
    labels = list(range(N_CLASSES))
    out: dict[str, float | int] = {}
    if t.size == 0:
        out["accuracy"] = float("nan")
        out["macro_f1"] = float("nan")
        prec = rec = f1 = np.zeros(N_CLASSES)
        sup = np.zeros(N_CLASSES, dtype=np.int64)
    else:
        out["accuracy"] = float(np.mean(t == p))
        present = sorted(int(c) for c in np.unique(t))
        out["macro_f1"] = float(f1_score(t, p, labels=present, average="macro", zero_division=0))
        prec, rec, f1, sup = precision_recall_fscore_support(t, p, labels=labels, zero_division=0)
    for i, name in enumerate(AAMI_CLASSES):
        out[f"precision_{name}"] = float(prec[i])
        out[f"recall_{name}"] = float(rec[i])
        out[f"f1_{name}"] = float(f1[i])
        out[f"support_{name}"] = int(sup[i])
    return out


def evaluate_predictions(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray
) -> dict[str, Any]:
    """All metrics in one dict: :func:`classification_metrics` + :func:`ec57_statistics`,
    plus ``confusion_matrix`` (nested lists, rows = reference) and ``classes``."""
    cm = confusion(y_true, y_pred)
    out: dict[str, Any] = {}
    out.update(classification_metrics(y_true, y_pred))
    out.update(ec57_statistics(cm))
    out["classes"] = list(AAMI_CLASSES)
    out["confusion_matrix"] = cm.tolist()
    return out


def _none_if_nan(x: float) -> float | None:
    return None if isinstance(x, float) and math.isnan(x) else x


def per_record_table(
    records: Sequence[Any] | np.ndarray,
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
) -> list[dict[str, Any]]:
    """One row per record (sorted by record name), computed from that record's beats.

    Row keys: ``record`` (str), ``n_beats``, ``n_ref_N`` .. ``n_ref_Q``, ``accuracy``,
    ``veb_se``, ``veb_pp``, ``sveb_se``, ``sveb_pp`` (EC57 definitions of
    :func:`ec57_statistics`); an undefined ratio is ``None``. No gross row is added.
    """
    t, p = _check_pair(y_true, y_pred)
    rec = np.asarray([str(r) for r in np.asarray(records).tolist()])
    if rec.shape != t.shape:
        raise ValueError(f"records and y_true differ in length: {rec.size} vs {t.size}")
    rows: list[dict[str, Any]] = []
    for name in np.unique(rec):
        mask = rec == name
        stats = ec57_statistics(confusion(t[mask], p[mask]))
        row: dict[str, Any] = {"record": str(name), "n_beats": int(mask.sum())}
        for cls in AAMI_CLASSES:
            row[f"n_ref_{cls}"] = stats[f"n_ref_{cls}"]
        row["accuracy"] = float(np.mean(t[mask] == p[mask]))
        for key in ("veb_se", "veb_pp", "sveb_se", "sveb_pp"):
            row[key] = _none_if_nan(stats[key])
        rows.append(row)
    return rows


SUBSET_FIGURES = (
    "sveb_se",
    "sveb_pp",
    "veb_se",
    "veb_pp",
    "sveb_tp",
    "sveb_fn",
    "sveb_fp",
    "veb_tp",
    "veb_fn",
    "veb_fp",
)


def single_out_statistics(
    records: Sequence[Any] | np.ndarray,
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    single_out: Sequence[str],
) -> dict[str, float | int]:
    """EC57 gross SVEB/VEB of each record in `single_out` alone (`record_<r>_*`) and of all
    the others pooled (`without_<r>_*`): a set dominated by one record shows both."""
    t, p = _check_pair(y_true, y_pred)
    names = np.asarray([str(r) for r in np.asarray(records).tolist()])
    out: dict[str, float | int] = {}
    for record in single_out:
        alone = names == str(record)
        for prefix, mask in ((f"record_{record}", alone), (f"without_{record}", ~alone)):
            stats = ec57_statistics(confusion(t[mask], p[mask]))
            out.update({f"{prefix}_{k}": stats[k] for k in SUBSET_FIGURES})
    return out


def flatten_metrics(d: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Flat ``{f"{prefix}_{key}": float}`` of the scalar numeric entries of `d` (for MLflow).

    Lists, strings, None, booleans and non-finite values (NaN, inf) are skipped. An empty
    prefix leaves the keys unchanged.
    """
    out: dict[str, float] = {}
    for key, value in d.items():
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
            continue
        v = float(value)
        if not math.isfinite(v):
            continue
        out[f"{prefix}_{key}" if prefix else str(key)] = v
    return out


def to_jsonable(obj: Any) -> Any:
    """Recursively convert numpy types to Python ones and NaN/inf to None (JSON null)."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_metrics_json(path: str | Path, metrics: Mapping[str, Any]) -> None:
    """Write `metrics` atomically as JSON, NaN/inf written as ``null``."""
    write_json(path, to_jsonable(metrics))
