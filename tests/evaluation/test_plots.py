"""Evaluation figures and DVC plot CSVs: files are written, complete and atomic."""

import csv
import math

import numpy as np
import pytest

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.evaluation.plots import (
    confusion_csv_rows,
    plot_confusion_matrix,
    plot_precision_recall,
    plot_training_curves,
    write_csv,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png_and_no_tmp(path):
    assert path.is_file()
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_plot_confusion_matrix(tmp_path):
    cm = np.array([
        [500, 20, 10, 3, 2],
        [15, 60, 5, 1, 0],
        [6, 2, 90, 5, 1],
        [4, 1, 7, 30, 0],
        [0, 0, 0, 0, 0],  # an empty reference row must not break normalisation
    ])  # fmt: skip
    for normalise in (True, False):
        path = tmp_path / "plots" / f"cm_{normalise}.png"
        assert plot_confusion_matrix(cm, AAMI_CLASSES, path, normalise=normalise) == path
        assert_png_and_no_tmp(path)


def test_plot_confusion_matrix_overwrites(tmp_path):
    path = tmp_path / "cm.png"
    path.write_bytes(b"old")
    plot_confusion_matrix(np.eye(5, dtype=int), AAMI_CLASSES, path)
    assert_png_and_no_tmp(path)


def test_plot_confusion_matrix_shape_mismatch(tmp_path):
    with pytest.raises(ValueError):
        plot_confusion_matrix(np.eye(4), AAMI_CLASSES, tmp_path / "x.png")
    assert not list(tmp_path.iterdir())


def test_plot_training_curves(tmp_path):
    history = [
        {"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.2 / e, "val_score": 0.5 + 0.05 * e}
        for e in range(1, 8)
    ]
    history.append({"epoch": 8, "train_loss": 0.1, "val_loss": None, "val_score": None})
    path = tmp_path / "curves.png"
    plot_training_curves(history, path)
    assert_png_and_no_tmp(path)


def test_plot_training_curves_empty_history(tmp_path):
    path = tmp_path / "empty.png"
    plot_training_curves([], path)
    assert_png_and_no_tmp(path)


def test_plot_precision_recall(tmp_path):
    rng = np.random.default_rng(0)
    y_true = rng.choice(4, size=300, p=[0.7, 0.1, 0.15, 0.05])  # no Q beats
    logits = rng.normal(size=(300, 5))
    logits[np.arange(300), y_true] += 2.0
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    path = tmp_path / "pr.png"
    ap = plot_precision_recall(y_true, proba, AAMI_CLASSES, path)
    assert_png_and_no_tmp(path)
    assert set(ap) == set(AAMI_CLASSES)
    assert math.isnan(ap["Q"])
    assert all(0.0 < ap[c] <= 1.0 for c in "NSVF")
    with pytest.raises(ValueError):
        plot_precision_recall(y_true, proba[:, :4], AAMI_CLASSES, tmp_path / "bad.png")


def test_confusion_csv_rows_and_write_csv(tmp_path):
    rows = confusion_csv_rows([0, 1, 2, 4], [0, 2, 2, 3], AAMI_CLASSES)
    assert rows == [
        {"actual": "N", "predicted": "N"},
        {"actual": "S", "predicted": "V"},
        {"actual": "V", "predicted": "V"},
        {"actual": "Q", "predicted": "F"},
    ]
    path = tmp_path / "dvc" / "confusion.csv"
    write_csv(path, rows)
    with path.open(newline="") as fh:
        assert list(csv.DictReader(fh)) == rows
    assert path.read_text().splitlines()[0] == "actual,predicted"
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_write_csv_none_and_heterogeneous_rows(tmp_path):
    path = tmp_path / "records.csv"
    write_csv(path, [{"record": "100", "veb_se": None}, {"record": "101", "veb_pp": 0.5}])
    lines = path.read_text().splitlines()
    assert lines == ["record,veb_se,veb_pp", "100,,", "101,,0.5"]
