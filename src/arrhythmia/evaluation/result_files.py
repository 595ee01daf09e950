"""The evaluate stage's files: metrics JSON, per-record tables, plots and Markdown tables,
at the reference beats and end to end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from arrhythmia.atomic import write_text
from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.evaluation.at_reference import AtReference
from arrhythmia.evaluation.ec57 import per_record_table, write_metrics_json
from arrhythmia.evaluation.plots import (
    confusion_csv_rows,
    plot_confusion_matrix,
    plot_precision_recall,
    write_csv,
)
from arrhythmia.evaluation.record_scoring import EndToEnd
from arrhythmia.evaluation.tables import (
    format_end_to_end_table,
    format_results_table,
    format_single_out_table,
)


@dataclass(frozen=True)
class Written:
    table: str  # the Markdown table written with them
    files: list[Path]  # those the tracking run keeps, in logging order
    average_precision: dict[str, float] = field(default_factory=dict)  # per class, from the plot


def write_at_reference_reports(
    result: AtReference, metrics_path: str | Path, reports: Path, single_out: Sequence[str]
) -> Written:
    """Metrics JSON, per-record and confusion CSVs, confusion and precision-recall plots,
    and results.md."""
    y_true, y_pred, metrics = result.y_true, result.y_pred, result.metrics
    write_metrics_json(metrics_path, metrics)
    write_csv(reports / "per_record.csv", per_record_table(result.records, y_true, y_pred))
    write_csv(reports / "confusion.csv", confusion_csv_rows(y_true, y_pred, AAMI_CLASSES))
    cm_png = plot_confusion_matrix(
        np.array(metrics["confusion_matrix"]), AAMI_CLASSES, reports / "confusion_matrix.png"
    )
    pr_png = reports / "precision_recall.png"
    average_precision = plot_precision_recall(y_true, result.proba, AAMI_CLASSES, pr_png)
    table = format_results_table(metrics) + "\n" + format_single_out_table(metrics, single_out)
    write_text(reports / "results.md", table + "\n")
    files = [Path(metrics_path), cm_png, pr_png, reports / "per_record.csv", reports / "results.md"]
    return Written(table, files, average_precision)


def write_end_to_end_reports(result: EndToEnd, metrics_path: str | Path, reports: Path) -> Written:
    """Metrics JSON, the per-record CSV and end_to_end.md."""
    write_metrics_json(metrics_path, result.pooled)
    write_csv(reports / "end_to_end_per_record.csv", result.rows)
    table = format_end_to_end_table(result.pooled)
    write_text(reports / "end_to_end.md", table + "\n")
    return Written(table, [Path(metrics_path), reports / "end_to_end_per_record.csv"])
