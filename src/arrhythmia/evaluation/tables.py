"""Markdown summaries of evaluation metrics (for the README and run reports). Writing them into
the README is tools/write_readme_results.py's job, not the library's."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.errors import ArrhythmiaError


class ReportError(ArrhythmiaError, ValueError):
    """A metrics file is missing or unreadable."""


def _pct(value: Any) -> str:
    """Fraction -> percentage with one decimal; None/NaN/missing -> 'n/a'."""
    if value is None:
        return "n/a"
    v = float(value)
    return "n/a" if not math.isfinite(v) else f"{100.0 * v:.1f}"


def _count(value: Any) -> str:
    return "n/a" if value is None else str(int(value))


def format_single_out_table(metrics: Mapping[str, Any], single_out: Sequence[str]) -> str:
    """SVEB/VEB of the whole set, of each singled-out record alone and of the set without it
    (keys of :func:`arrhythmia.evaluation.ec57.single_out_statistics`)."""
    lines = [
        "| beats | SVEB Se | SVEB +P | S beats | VEB Se | VEB +P | V beats |",
        "|:--|--:|--:|--:|--:|--:|--:|",
    ]

    def row(name: str, prefix: str) -> str:
        s_beats = sum(metrics.get(f"{prefix}sveb_{k}") or 0 for k in ("tp", "fn"))
        v_beats = sum(metrics.get(f"{prefix}veb_{k}") or 0 for k in ("tp", "fn"))
        return (
            f"| {name} | {_pct(metrics.get(f'{prefix}sveb_se'))} "
            f"| {_pct(metrics.get(f'{prefix}sveb_pp'))} | {s_beats} "
            f"| {_pct(metrics.get(f'{prefix}veb_se'))} "
            f"| {_pct(metrics.get(f'{prefix}veb_pp'))} | {v_beats} |"
        )

    lines.append(row("all", ""))
    for record in single_out:
        lines.append(row(f"record {record} alone", f"record_{record}_"))
        lines.append(row(f"all but {record}", f"without_{record}_"))
    return "\n".join(lines) + "\n"


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


END_TO_END_ROWS = (
    ("QRS Se", None, "qrs_se"),
    ("QRS +P", None, "qrs_pp"),
    ("VEB Se", "veb_se", "veb_se"),
    ("VEB +P", "veb_pp", "veb_pp"),
    ("SVEB Se", "sveb_se", "sveb_se"),
    ("SVEB +P", "sveb_pp", "sveb_pp"),
    ("AF duration Se", None, "af_duration_se"),
    ("AF duration +P", None, "af_duration_ppv"),
    ("AF episode Se", None, "af_episode_se"),
    ("AF episode +P", None, "af_episode_ppv"),
    ("VT episode Se", None, "vt_episode_se"),
    ("VT episode +P", None, "vt_episode_ppv"),
)


def format_end_to_end_table(
    end_to_end: Mapping[str, Any], at_reference: Mapping[str, Any] | None = None
) -> str:
    """Markdown: the gross EC57 figures of the whole path on raw records (own beat
    detection, 150 ms matching, missed and extra beats counted), beside those at the
    reference beat positions when given."""
    if at_reference is None:
        lines = ["| Figure (gross, DS2) | End to end (%) |", "|:--|--:|"]
        for label, _, key in END_TO_END_ROWS:
            lines.append(f"| {label} | {_pct(end_to_end.get(key))} |")
    else:
        lines = [
            "| Figure (gross, DS2) | At reference beats (%) | End to end (%) |",
            "|:--|--:|--:|",
        ]
        for label, ref_key, key in END_TO_END_ROWS:
            ref = _pct(at_reference.get(ref_key)) if ref_key else "-"
            lines.append(f"| {label} | {ref} | {_pct(end_to_end.get(key))} |")
    counts = (
        f"{_count(end_to_end.get('qrs_tp'))} beats matched, {_count(end_to_end.get('qrs_fn'))} "
        f"missed, {_count(end_to_end.get('qrs_fp'))} extra; AF "
        f"{_count(end_to_end.get('af_reference_episodes'))} reference episodes, VT "
        f"{_count(end_to_end.get('vt_reference_episodes'))}."
    )
    return "\n".join(lines) + "\n\n" + counts + "\n"


def format_confusion_matrix(metrics: Mapping[str, Any]) -> str:
    """Markdown confusion matrix: rows are reference classes, columns predicted ones."""
    classes = metrics.get("classes", list(AAMI_CLASSES))
    lines = [
        "| reference \\ predicted | " + " | ".join(classes) + " |",
        "|:--|" + "--:|" * len(classes),
    ]
    for name, row in zip(classes, metrics["confusion_matrix"], strict=True):
        lines.append(f"| **{name}** | " + " | ".join(str(int(v)) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _read_metrics(path: Path) -> dict:
    if not path.is_file():
        raise ReportError(f"{path}: no metrics here (run the pipeline first: `dvc repro`)")
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise ReportError(f"{path}: not a metrics file ({error})") from None


def results_section(ds2_metrics: Path, train_metrics: Path, end_to_end: Path) -> str:
    """The README's results: DS2 test figures (at reference beats and end to end) and the
    development-set validation figures that chose the model, read from the pipeline's
    metrics files."""
    ds2 = _read_metrics(Path(ds2_metrics))
    whole = _read_metrics(Path(end_to_end))
    train = _read_metrics(Path(train_metrics))
    development = "+".join(train.get("training_sets", ["DS1"]))
    early_stopping = "early stopping, " if train.get("epoch_choice", "best") == "best" else ""
    validation = (
        f"Development set {development} (out-of-fold over patient-wise folds, used for "
        f"{early_stopping}the decision offsets and the "
        f"registry gate): score {_pct(train.get('dev_val_score'))} %, "
        f"SVEB Se {_pct(train.get('dev_val_sveb_se'))} / +P {_pct(train.get('dev_val_sveb_pp'))}, "
        f"VEB Se {_pct(train.get('dev_val_veb_se'))} / +P {_pct(train.get('dev_val_veb_pp'))}."
    )
    # keys are record_<name>_<class>_<figure>; a record name may itself hold "_"
    singled = sorted(
        {k.removeprefix("record_").rsplit("_", 2)[0] for k in ds2 if k.startswith("record_")}
    )
    single_out = (
        "\nSVEB and VEB of the records that dominate a class, alone and left out (one "
        "record's result is not the method's):\n\n" + format_single_out_table(ds2, singled)
        if singled
        else ""
    )
    model = (
        f"Model: {_count(train.get('n_models'))} CNNs (one per fold and seed) of "
        f"{_count(train.get('n_parameters_per_model'))} parameters each "
        f"({float(train.get('model_size_bytes', 0)) / 1024:.0f} KiB in all), trained in "
        f"{float(train.get('train_seconds', 0)):.0f} s on this machine's CPU; epochs kept "
        f"{train.get('best_epochs')} ({train.get('epoch_choice', 'best')})."
    )
    return (
        f"DS2 test set: {_count(ds2.get('n_beats'))} beats of 22 records, every reference beat, "
        f"model trained and selected on {development} only.\n\n"
        + format_results_table(ds2)
        + single_out
        + "\nConfusion matrix (DS2):\n\n"
        + format_confusion_matrix(ds2)
        + "\nEnd to end: each raw DS2 record diagnosed as `arrhythmia predict` does (own beat "
        "detection, classes, rhythm episodes), scored against MITDB's reference beats "
        "(150 ms matching; missed and extra beats count) and rhythm annotations (whole "
        "records, no learning period):\n\n"
        + format_end_to_end_table(whole, ds2)
        + "\n"
        + validation
        + _strip_af_line(train)
        + _ventricular_line(train)
        + "\n\n"
        + model
        + "\n"
    )


def _ventricular_line(train: dict) -> str:
    """The learnt VT/VF presence's out-of-fold figures, where the model has it."""
    if "vtvf_records" not in train:
        return ""

    def duration(database: str, group: str) -> str:
        key = f"vtvf_cv_{database}_{group}_duration"
        return f"{_pct(train.get(key + '_se'))} / {_pct(train.get(key + '_ppv'))}"

    return (
        f"\n\nVT and VF: the learnt presence trees, fitted on {_count(train['vtvf_windows'])} "
        f"windows of {_count(train['vtvf_records'])} records (DS1, VFDB, CUDB); the product "
        "with trees fitted on the other record-wise folds (its rules' thresholds, DS1's beat "
        "classes and the way the trees join the rules chosen on these records), duration "
        "Se / +P in %: VFDB VT-or-VF "
        f"{duration('vfdb', 'vt_or_vf')}, VT {duration('vfdb', 'vt')}, VF "
        f"{duration('vfdb', 'vf')}; CUDB VF {duration('cudb', 'vf')}; DS1 VT-or-VF "
        f"{duration('mitdb', 'vt_or_vf')}."
    )


def _strip_af_line(train: dict) -> str:
    """The learnt strip AF call's cross-validated figures, where the model has one."""
    if "strip_af_f1_cv" not in train:
        return ""
    return (
        f"\n\nShort strips: the learnt AF call on {_count(train['strip_af_strips'])} CinC 2017 "
        f"strips ({_count(train['strip_af_af_strips'])} AF), out of fold over record-wise folds "
        f"(each fold's threshold chosen on the others): AF F1 {_pct(train['strip_af_f1_cv'])} %, "
        f"Se {_pct(train['strip_af_se_cv'])} / +P {_pct(train['strip_af_ppv_cv'])}."
    )
