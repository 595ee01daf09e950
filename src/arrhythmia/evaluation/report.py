"""Markdown summaries of evaluation metrics (for the README and run reports)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from arrhythmia.data.aami import AAMI_CLASSES


def _pct(value: Any) -> str:
    """Fraction -> percentage with one decimal; None/NaN/missing -> 'n/a'."""
    if value is None:
        return "n/a"
    v = float(value)
    return "n/a" if not math.isfinite(v) else f"{100.0 * v:.1f}"


def _count(value: Any) -> str:
    return "n/a" if value is None else str(int(value))


def format_results_table(metrics: Mapping[str, Any]) -> str:
    """Markdown tables of the metrics of :func:`arrhythmia.evaluation.ec57.evaluate_predictions`.

    First a per-class table (N, S, V, F, Q) with Se (= recall), +P (= precision), F1 and
    support, then a summary table with the EC57 gross VEB Se/+P, SVEB Se/+P, accuracy and
    macro F1. Percentages have one decimal; undefined values (None/NaN) print as "n/a".
    Works on the in-memory dict as well as on one read back from JSON.
    """
    lines = [
        "| Class | Se (%) | +P (%) | F1 (%) | Support |",
        "|:------|-------:|-------:|-------:|--------:|",
    ]
    for name in AAMI_CLASSES:
        lines.append(
            f"| {name} | {_pct(metrics.get(f'recall_{name}'))} "
            f"| {_pct(metrics.get(f'precision_{name}'))} "
            f"| {_pct(metrics.get(f'f1_{name}'))} "
            f"| {_count(metrics.get(f'support_{name}'))} |"
        )
    lines += [
        "",
        "| Metric | Value (%) |",
        "|:-------|----------:|",
        f"| VEB Se (EC57) | {_pct(metrics.get('veb_se'))} |",
        f"| VEB +P (EC57) | {_pct(metrics.get('veb_pp'))} |",
        f"| SVEB Se (EC57) | {_pct(metrics.get('sveb_se'))} |",
        f"| SVEB +P (EC57) | {_pct(metrics.get('sveb_pp'))} |",
        f"| Accuracy | {_pct(metrics.get('accuracy'))} |",
        f"| Macro F1 | {_pct(metrics.get('macro_f1'))} |",
    ]
    return "\n".join(lines) + "\n"
