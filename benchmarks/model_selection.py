"""Compare training variants on the development set (params.yaml train.training_sets: DS1 and
the SVDB records; out-of-fold over the patient-wise folds), over several seeds, and print
each variant's mean and spread. DS2 is dropped before anything else happens. Every
(variant, seed) is an MLflow run in the experiment `arrhythmia-model-selection`, so
`mlflow ui` shows them side by side.

    python benchmarks/model_selection.py "" "rr_features=[pre_over_post,pre_over_mean_5min]"
    python benchmarks/model_selection.py "" --seeds 20040701 1 2 --stage-variants \\
        --out reports/model_selection/ds1_selection.json
    python benchmarks/model_selection.py --table-from reports/model_selection/ds1_selection.json

Each argument is one variant: `;`-separated overrides of params.yaml's `train` section.
With --stage-variants, each trained CNN is also scored under the other decision layer
(second_stage none <-> supraventricular) on the same out-of-fold output: one training, two rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from arrhythmia.config import load_params
from arrhythmia.data.beat_dataset import load_dataset
from arrhythmia.evaluation.ec57 import evaluate_predictions
from arrhythmia.training.ensemble import (
    decide,
    development_beats,
    development_template,
    train_ensemble,
)
from arrhythmia.training.loop import validation_score

EXPERIMENT = "arrhythmia-model-selection"
FIGURES = ("score", "sveb_se", "sveb_pp", "veb_se", "veb_pp")
OTHER_STAGE = {"none": "supraventricular", "supraventricular": "none"}


def parse_variant(text: str, train) -> dict:
    overrides = {}
    for item in filter(None, text.split(";")):
        key, value = item.split("=", 1)
        if not hasattr(train, key):
            raise SystemExit(f"unknown train parameter {key!r}")
        overrides[key] = yaml.safe_load(value)
    return overrides


def variant_name(text: str, switched_stage: str | None) -> str:
    name = text or "params.yaml"
    return name if switched_stage is None else f"{name} + second_stage={switched_stage}"


def row_of(name: str, seed: int, labels, validated, seconds: float, best_epochs) -> dict:
    predicted = validated.argmax(axis=1)
    m = evaluate_predictions(labels, predicted)
    return {
        "variant": name, "seed": seed, "score": validation_score(labels, predicted),
        "sveb_se": m["sveb_se"], "sveb_pp": m["sveb_pp"], "veb_se": m["veb_se"],
        "veb_pp": m["veb_pp"], "best_epochs": best_epochs, "seconds": round(seconds),
    }  # fmt: skip


def log_run(row: dict, cfg) -> None:
    import mlflow

    with mlflow.start_run(run_name=f"{row['variant']} seed={row['seed']}"):
        mlflow.log_params({f"train.{k}": v for k, v in dataclasses.asdict(cfg).items()})
        mlflow.log_params({"variant": row["variant"][:500], "seed": row["seed"]})
        mlflow.log_metrics({f"dev_val_{k}": row[k] for k in FIGURES})
        mlflow.set_tags({"validation": "patient-wise folds inside " + "+".join(cfg.training_sets),
                         "ds2": "not read"})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", default=[""], help="override sets (default: params)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="default: params seed")
    parser.add_argument("--stage-variants", action="store_true", help="also score the other stage")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default=None, help="also write the rows as JSON here")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log MLflow runs")
    parser.add_argument(
        "--table-from", default=None, help="print the Markdown table of a saved JSON and exit"
    )
    args = parser.parse_args()
    if args.table_from:
        print(markdown_table(json.loads(Path(args.table_from).read_text())))
        return

    params = load_params(args.params)
    arrays = load_dataset(params.paths.dataset)
    test = arrays["split"] == "DS2"
    arrays = {k: (v[~test] if v.ndim and len(v) == len(test) else v) for k, v in arrays.items()}
    if not args.no_mlflow:
        import mlflow

        from arrhythmia.tracking.mlflow_setup import ensure_experiment, tracking_uri

        # this process's runs (log_run) go to the pipeline's store, in their own experiment
        mlflow.set_tracking_uri(tracking_uri())
        mlflow.set_experiment(experiment_id=ensure_experiment(EXPERIMENT))

    rows = []
    for text in args.variants:
        for seed in args.seeds or [params.train.seed]:
            cfg = dataclasses.replace(params.train, **parse_variant(text, params.train), seed=seed)
            started = time.monotonic()
            with tempfile.TemporaryDirectory() as tmp:
                _, report = train_ensemble(
                    arrays, cfg, params.preprocess, Path(tmp), progress=False
                )
            seconds = time.monotonic() - started
            labels = arrays["label"][development_beats(arrays, cfg)].astype(int)
            include = development_template(arrays, cfg)
            configs = [cfg]
            if args.stage_variants:
                configs.append(dataclasses.replace(cfg, second_stage=OTHER_STAGE[cfg.second_stage]))
            for i, c in enumerate(configs):
                started = time.monotonic()
                decision = decide(arrays, report.oof_proba, c, report.fold_of_beat, include)
                extra = time.monotonic() - started
                name = variant_name(text, c.second_stage if i else None)
                rows.append(row_of(name, seed, labels, decision.validated, seconds + extra,
                                   report.best_epochs))  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
                if not args.no_mlflow:
                    log_run(rows[-1], c)
            if args.out:  # after every training: a cut-off run keeps what it finished
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")

    print("\nDevelopment set (out-of-fold, patient-wise), percent, mean +/- sd over seeds:")
    print(markdown_table(rows))


def summarise(rows: list[dict]) -> list[dict]:
    """Per variant (in first-seen order): mean, sd and range of each figure over seeds."""
    order = list(dict.fromkeys(r["variant"] for r in rows))
    out = []
    for name in order:
        runs = [r for r in rows if r["variant"] == name]
        entry = {"variant": name, "seeds": [r.get("seed") for r in runs]}
        for k in FIGURES:
            values = [100 * r[k] for r in runs]
            entry[k] = (
                statistics.mean(values),
                statistics.stdev(values) if len(values) > 1 else 0.0,
                max(values) - min(values),
            )
        out.append(entry)
    return out


def markdown_table(rows: list[dict]) -> str:
    """Mean +/- sd (range) per variant: docs/method.md's model-selection table is this output."""
    lines = [
        "| variant (overrides of `train`) | seeds | score | SVEB Se | SVEB +P | VEB Se | VEB +P |",
        "|:--|--:|--:|--:|--:|--:|--:|",
    ]
    for s in summarise(rows):
        name = s["variant"].replace(";", ", ").replace("[", "`[").replace("]", "]`")
        cells = " | ".join(  # a single run (older comparisons) prints its value alone
            f"{m:.1f} ± {sd:.1f} ({r:.1f})" if len(s["seeds"]) > 1 else f"{m:.1f}"
            for m, sd, r in (s[k] for k in FIGURES)
        )
        lines.append(f"| {name} | {len(s['seeds'])} | {cells} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
