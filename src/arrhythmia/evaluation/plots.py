"""Evaluation figures (PNG) and CSV data for DVC plots.

Figures are drawn on a :class:`matplotlib.figure.Figure` bound to the Agg canvas
(``FigureCanvasAgg``): no display and no pyplot global state, so these functions are
safe in headless workers and do not change the backend of the calling process.
Every file is written atomically (temporary file beside the target, then ``os.replace``).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import average_precision_score, precision_recall_curve

from arrhythmia.atomic import atomic_path


def _new_figure(figsize: tuple[float, float]) -> Figure:
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save_png(fig: Figure, path: str | Path, dpi: int = 120) -> Path:
    target = Path(path)
    with atomic_path(target) as tmp:
        # The temporary name ends in .tmp, so the format must be given explicitly.
        fig.savefig(tmp, format="png", dpi=dpi)
    return target


def plot_confusion_matrix(
    cm: np.ndarray | Sequence[Sequence[int]],
    classes: Sequence[str],
    path: str | Path,
    normalise: bool = True,
) -> Path:
    """Heat map of a confusion matrix (rows = reference, columns = predicted).

    Each cell is annotated with its count (and the row percentage when `normalise`);
    with `normalise` the colour is the row-normalised fraction (recall per row; an
    all-zero row stays 0), otherwise the raw count. Returns the PNG path.
    """
    m = np.asarray(cm, dtype=float)
    k = len(classes)
    if m.shape != (k, k):
        raise ValueError(f"confusion matrix shape {m.shape} does not match {k} classes")
    row_sums = m.sum(axis=1, keepdims=True)
    frac = np.divide(m, row_sums, out=np.zeros_like(m), where=row_sums > 0)
    colour = frac if normalise else m
    vmax = 1.0 if normalise else max(float(m.max()), 1.0)

    fig = _new_figure((1.1 * k + 2.0, 1.0 * k + 1.5))
    ax = fig.add_subplot()
    im = ax.imshow(colour, cmap="Blues", vmin=0.0, vmax=vmax)
    fig.colorbar(im, ax=ax, label="fraction of reference row" if normalise else "beats")
    ax.set_xticks(range(k), labels=list(classes))
    ax.set_yticks(range(k), labels=list(classes))
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("Reference class")
    ax.set_title("Confusion matrix" + (" (row-normalised)" if normalise else ""))
    for i in range(k):
        for j in range(k):
            text = f"{int(m[i, j])}"
            if normalise and row_sums[i, 0] > 0:
                text += f"\n{100 * frac[i, j]:.1f}%"
            dark = colour[i, j] > 0.6 * vmax
            ax.text(
                j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black"
            )
    return _save_png(fig, path)


def _curve(history, key: str, fold: Any, member: int) -> tuple[list[float], list[float]]:
    """(epochs, values) of `key` for one fold and member; missing or None values left out."""
    xs, ys = [], []
    for i, row in enumerate(history):
        value = row.get(key)
        if value is None or row.get("fold") != fold or row.get("member", 0) != member:
            continue
        xs.append(float(row.get("epoch", i)))
        ys.append(float(value))
    return xs, ys


def _plot_score(ax, xs: list[float], ys: list[float], colour: str, alpha: float, text) -> None:
    """A validation-score curve with its best epoch starred (and named in the legend)."""
    best = int(np.nanargmax(ys)) if not np.all(np.isnan(ys)) else None
    if text is not None and best is not None:
        text += f" (best {ys[best]:.3f} @ {xs[best]:g})"
    ax.plot(xs, ys, color=colour, marker="o", markersize=3, alpha=alpha, label=text)
    if best is not None:
        ax.plot([xs[best]], [ys[best]], "*", color=colour, markersize=10, alpha=alpha)


def plot_training_curves(history: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Loss curves (train_loss, val_loss) and the validation score against epoch.

    `history` rows have keys ``epoch``, ``train_loss``, ``val_loss``, ``val_score`` and
    optionally ``fold`` and ``member`` (the seed of an ensemble): each fold gets its own
    colour, each of its members its own lines (the legend names the first member's). A
    missing or None value is left out of its curve. Returns the PNG path.
    """
    folds = sorted({row.get("fold") for row in history}, key=lambda f: (f is None, f))
    members = sorted({row.get("member", 0) for row in history})

    def label(text: str, fold: Any, member: int) -> str | None:
        if member != members[0]:
            return None  # one legend entry per fold
        return text if fold is None else f"{text}, fold {fold}"

    fig = _new_figure((10.0, 4.0))
    ax_loss, ax_score = fig.subplots(1, 2)
    for index, fold in enumerate(folds):
        colour = f"C{index}"
        for member in members:
            alpha = 1.0 if member == members[0] else 0.5
            for key, text, style in (
                ("train_loss", "train", "-"),
                ("val_loss", "validation", "--"),
            ):
                xs, ys = _curve(history, key, fold, member)
                if xs:
                    ax_loss.plot(
                        xs,
                        ys,
                        style,
                        color=colour,
                        marker="o",
                        markersize=3,
                        alpha=alpha,
                        label=label(text, fold, member),
                    )
            xs, ys = _curve(history, "val_score", fold, member)
            if xs:
                _plot_score(ax_score, xs, ys, colour, alpha, label("score", fold, member))
    for ax, title in ((ax_loss, "Loss"), (ax_score, "Validation score")):
        ax.set_xlabel("Epoch")
        ax.set_ylabel(title)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    return _save_png(fig, path)


def plot_precision_recall(
    y_true: Sequence[int] | np.ndarray,
    proba: np.ndarray,
    classes: Sequence[str],
    path: str | Path,
) -> dict[str, float]:
    """One-vs-rest precision-recall curves, average precision (AP) in the legend.

    `proba` has shape (n_beats, n_classes), column j = score of ``classes[j]``; `y_true`
    holds class indices. Classes without a reference beat have no curve and AP NaN.
    Writes the PNG to `path` and returns ``{class: AP}``.
    """
    t = np.asarray(y_true)
    scores = np.asarray(proba, dtype=float)
    k = len(classes)
    if scores.ndim != 2 or scores.shape != (t.size, k):
        raise ValueError(f"proba must have shape ({t.size}, {k}), got {scores.shape}")

    fig = _new_figure((6.0, 5.0))
    ax = fig.add_subplot()
    ap: dict[str, float] = {}
    for j, name in enumerate(classes):
        positive = t == j
        if not positive.any():
            ap[name] = float("nan")
            continue
        precision, recall, _ = precision_recall_curve(positive, scores[:, j])
        ap[name] = float(average_precision_score(positive, scores[:, j]))
        ax.step(
            recall,
            precision,
            where="post",
            label=f"{name} (AP {ap[name]:.3f}, n={int(positive.sum())})",
        )
    ax.set_xlabel("Recall (Se)")
    ax.set_ylabel("Precision (+P)")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_title("Precision-recall, one vs rest")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left")
    _save_png(fig, path)
    return ap


def confusion_csv_rows(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    classes: Sequence[str],
) -> list[dict[str, str]]:
    """One ``{"actual": ..., "predicted": ...}`` row per beat (DVC confusion template)."""
    t = np.asarray(y_true).tolist()
    p = np.asarray(y_pred).tolist()
    if len(t) != len(p):
        raise ValueError(f"y_true and y_pred differ in length: {len(t)} vs {len(p)}")
    return [{"actual": classes[a], "predicted": classes[b]} for a, b in zip(t, p, strict=True)]


def write_csv(
    path: str | Path,
    rows: Sequence[Mapping[str, Any]],
    fieldnames: Sequence[str] | None = None,
) -> Path:
    """Write `rows` as CSV with a header, atomically.

    Columns are `fieldnames`, or else the keys of the rows in first-seen order; None is
    written as an empty cell. With no rows and no fieldnames the file is empty.
    """
    if fieldnames is None:
        seen: dict[str, None] = {}
        for row in rows:
            seen.update(dict.fromkeys(row))
        fieldnames = list(seen)
    target = Path(path)
    with atomic_path(target) as tmp:
        with tmp.open("w", newline="") as fh:
            if fieldnames:
                writer = csv.DictWriter(fh, fieldnames=list(fieldnames), restval="")
                writer.writeheader()
                writer.writerows(rows)
    return target
