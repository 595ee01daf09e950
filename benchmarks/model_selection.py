"""Compare training variants on DS1 only (out-of-fold over the patient-wise folds) and
print their validation figures. DS2 is dropped before anything else happens.

    python benchmarks/model_selection.py imbalance=weighted_loss imbalance=focal_loss \\
        imbalance=balanced_sampler
    python benchmarks/model_selection.py "class_weight_power=0.75;tune_bias=false"

Each argument is one variant: `;`-separated overrides of params.yaml's `train` section.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import yaml

from arrhythmia.config import load_params
from arrhythmia.data.beat_dataset import load_dataset
from arrhythmia.training.ensemble import train_ensemble


def parse_variant(text: str, train) -> dict:
    overrides = {}
    for item in filter(None, text.split(";")):
        key, value = item.split("=", 1)
        if not hasattr(train, key):
            raise SystemExit(f"unknown train parameter {key!r}")
        overrides[key] = yaml.safe_load(value)
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", default=[""], help="override sets (default: params)")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default=None, help="also write the rows as JSON here")
    parser.add_argument(
        "--table-from", default=None, help="print the Markdown table of a saved JSON and exit"
    )
    args = parser.parse_args()
    if args.table_from:
        print(markdown_table(json.loads(Path(args.table_from).read_text())))
        return

    params = load_params(args.params)
    arrays = load_dataset(params.paths.dataset)
    ds1 = arrays["split"] == "DS1"
    arrays = {k: (v[ds1] if v.ndim and len(v) == len(ds1) else v) for k, v in arrays.items()}

    rows = []
    for text in args.variants:
        cfg = dataclasses.replace(params.train, **parse_variant(text, params.train))
        started = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            _, report = train_ensemble(arrays, cfg, params.preprocess, Path(tmp), progress=False)
        m = report.val_metrics
        rows.append({
            "variant": text or "params.yaml", "score": report.val_score,
            "sveb_se": m["sveb_se"], "sveb_pp": m["sveb_pp"], "veb_se": m["veb_se"],
            "veb_pp": m["veb_pp"], "macro_f1": m["macro_f1"], "best_epochs": report.best_epochs,
            "seconds": round(time.monotonic() - started),
        })  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)

    print("\nDS1 validation (out-of-fold, patient-wise), percent:")
    print(f"{'variant':<48} score  SVEB Se  +P    VEB Se  +P    macroF1  time")
    for r in rows:
        print(
            f"{r['variant']:<48} {100 * r['score']:5.1f}  {100 * r['sveb_se']:5.1f} "
            f"{100 * r['sveb_pp']:5.1f}  {100 * r['veb_se']:5.1f} {100 * r['veb_pp']:5.1f}  "
            f"{100 * r['macro_f1']:5.1f}   {r['seconds']} s"
        )
    print("\n" + markdown_table(rows))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")


def markdown_table(rows: list[dict]) -> str:
    """The comparison as a Markdown table (the README's is this output)."""
    lines = [
        "| variant (overrides of `train`) | score | SVEB Se | SVEB +P | VEB Se | VEB +P |",
        "|:--|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        name = r["variant"].replace(";", ", ").replace("[", "`[").replace("]", "]`")
        cells = [r[k] for k in ("score", "sveb_se", "sveb_pp", "veb_se", "veb_pp")]
        lines.append(f"| {name} | " + " | ".join(f"{100 * v:.1f}" for v in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
