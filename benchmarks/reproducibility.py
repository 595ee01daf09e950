"""How far the trained model's figures move with the seed and the thread count.

Trains the full ensemble (params.yaml's `train`: DS1 and the SVDB records by default) once
per variant and prints the development set's out-of-fold validation figures and the DS2
test figures of each, then the spread (mean, standard deviation, min-max range) over the
distinct runs. The first variant is trained a second time to show whether the same seed
and thread count give bit-identical weights on this machine. `--by-design` pools the seeds
of each design and names the one the development set's out-of-fold score picks.

    python benchmarks/reproducibility.py                      # params seed, 2 more seeds, 1 thread
    python benchmarks/reproducibility.py "seed=1" "seed=2;threads=1" --out rows.json
    python benchmarks/reproducibility.py --shipped "seed=1" "seed=2" --no-repeat  # after dvc repro
    python benchmarks/reproducibility.py --shipped "seed=1" "seed=2" --no-repeat --rule
    python benchmarks/reproducibility.py --table-from reports/reproducibility/spread.json
    python benchmarks/reproducibility.py --shipped "seed=1" "seed=2" "offset_choice=bagged" \
        "offset_choice=bagged;seed=1" "offset_choice=bagged;seed=2" --no-repeat --rule \
        --networks /tmp/networks   # two decision layers over the same three seeds' networks

`--rule` also scores DS2's SVEB after the no-S-in-AF rule, as `evaluate` reports it: each
run's strip AF trees are fitted on the CinC strips with its classes (about 3 min a run),
the VT/VF trees are the shipped bundle's (they change no DS2 figure).

Each argument is one variant: `;`-separated overrides of params.yaml's `train` section.
DS2 plays no part in any choice here: it is only scored, as `evaluate` scores it.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from model_selection import parse_variant  # same `key=value;...` variants

DEFAULT_VARIANTS = ["", "seed=1", "seed=2", "threads=1"]
FIGURES = [
    ("dev_score", "dev score"),
    ("dev_sveb_se", "dev SVEB Se"),
    ("dev_sveb_pp", "dev SVEB +P"),
    ("dev_veb_se", "dev VEB Se"),
    ("dev_veb_pp", "dev VEB +P"),
    ("ds2_sveb_se", "DS2 SVEB Se"),
    ("ds2_sveb_pp", "DS2 SVEB +P"),
    ("ds2_rule_sveb_se", "DS2 SVEB Se, no-S-in-AF rule"),
    ("ds2_rule_sveb_pp", "DS2 SVEB +P, no-S-in-AF rule"),
    ("ds2_veb_se", "DS2 VEB Se"),
    ("ds2_veb_pp", "DS2 VEB +P"),
    ("ds2_accuracy", "DS2 accuracy"),
    ("ds2_macro_f1", "DS2 macro F1"),
]


def weights_digest(state_dicts: list[dict]) -> str:
    digest = hashlib.sha256()
    for state in state_dicts:
        for name in sorted(state):
            digest.update(name.encode())
            digest.update(state[name].detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def network_dir(networks: Path, cfg, preprocess) -> Path:
    """Where `--networks` keeps a variant's finished networks: variants that differ only in
    the decision layer over them (training.loop.DECISION_SETTINGS) share one folder. The
    folder does not know the code: empty it after changing what trains the networks."""
    from arrhythmia.training.loop import params_fingerprint

    return networks / params_fingerprint(cfg, {"preprocess": dataclasses.asdict(preprocess)})


def train_and_score(
    arrays,
    cfg,
    preprocess,
    params=None,
    ventricular=None,
    networks: Path | None = None,
    single_out: tuple[str, ...] = (),
) -> dict:
    """A trained ensemble's row; with `params`, also DS2's SVEB after the no-S-in-AF rule,
    as `evaluate` scores it: the strip AF trees fitted on the CinC strips with this
    ensemble's classes, the VT/VF trees (`ventricular`) borrowed from the shipped bundle.
    With `networks`, the networks are trained there, or taken from there when finished."""
    from arrhythmia.training.ensemble import train_ensemble

    started = time.monotonic()
    if networks is not None:
        checkpoints = network_dir(networks, cfg, preprocess)
        classifier, report = train_ensemble(
            arrays, cfg, preprocess, checkpoints, resume=True, progress=False
        )
    else:
        with tempfile.TemporaryDirectory() as tmp:
            classifier, report = train_ensemble(arrays, cfg, preprocess, Path(tmp), progress=False)
    seconds = time.monotonic() - started
    dev = {"score": report.val_score, **report.val_metrics}
    row = score_row(arrays, classifier, dev, report.best_epochs, seconds, single_out)
    if params is not None:
        classifier.strip_af = fitted_strip_af(classifier, params)
        classifier.ventricular = ventricular
        row.update(rule_row(arrays, classifier, params))
    return row


def fitted_strip_af(classifier, params) -> dict | None:
    """The strip AF trees as the train stage fits them after this classifier (none where
    `strip_af.enabled` is false, as there)."""
    if not params.strip_af.enabled:
        return None
    from arrhythmia.training.strip_af import fit_after_classifier

    fitted, _ = fit_after_classifier(classifier, params.paths, params.data.subset, params.strip_af)
    return fitted.to_dict()


def rule_row(arrays, classifier, params) -> dict:
    """DS2's SVEB at its reference beats after the rhythm rules, as `evaluate` reports it."""
    from arrhythmia.evaluation.at_reference import score_at_reference

    metrics = score_at_reference(arrays, classifier, params.paths.raw_dir, []).metrics
    return {"ds2_rule_sveb_se": metrics["sveb_se"], "ds2_rule_sveb_pp": metrics["sveb_pp"]}


def shipped_row(params, arrays, rule: bool, single_out: tuple[str, ...] = ()) -> dict:
    """The row of the model the pipeline trained (params.yaml's seed), without training it
    again: its development figures from the train stage's metrics, DS2 scored here."""
    from arrhythmia.models.bundle import BeatClassifier

    metrics = json.loads(Path(params.paths.train_metrics).read_text())
    dev = {key.removeprefix("dev_val_"): value for key, value in metrics.items()}
    classifier = BeatClassifier.load(params.paths.model)
    row = score_row(
        arrays, classifier, dev, metrics["best_epochs"], metrics["train_seconds"], single_out
    )
    return {**row, **rule_row(arrays, classifier, params)} if rule else row


def score_row(
    arrays, classifier, dev: dict, best_epochs, seconds: float, single_out: tuple[str, ...] = ()
) -> dict:
    """Development out-of-fold figures beside DS2's at its reference beats (before the
    rhythm rules of the diagnosis: the classifier alone), with DS2's SVEB Se in each
    `single_out` record and without it, and the decision layer's offsets."""
    from arrhythmia.evaluation.ec57 import evaluate_predictions, single_out_statistics

    ds2 = arrays["split"] == "DS2"
    records = arrays["record"][ds2]
    proba = classifier.predict_proba(
        arrays["windows"][ds2], arrays["rr"][ds2], arrays["rr_names"], records
    )
    truth, predicted = arrays["label"][ds2].astype(np.int64), proba.argmax(axis=1)
    test = evaluate_predictions(truth, predicted)
    test.update(single_out_statistics(records, truth, predicted, single_out))
    row = {"dev_score": dev["score"]}
    for key in ("sveb_se", "sveb_pp", "veb_se", "veb_pp"):
        row[f"dev_{key}"] = dev.get(key)  # the train stage's metrics leave undefined ones out
    for key in ("sveb_se", "sveb_pp", "veb_se", "veb_pp", "accuracy", "macro_f1"):
        row[f"ds2_{key}"] = test[key]
    for record in single_out:
        for key in (f"record_{record}_sveb_se", f"without_{record}_sveb_se"):
            row[f"ds2_{key}"] = test[key]
    row["offsets"] = decision_offsets(classifier)
    row.update(
        best_epochs=best_epochs,
        weights=weights_digest(classifier.state_dicts),
        seconds=round(seconds),
    )
    return row


def decision_offsets(classifier) -> dict:
    """The decision layer's offsets: the networks' S and V logit offsets, then the
    supraventricular and ventricular stages' (absent where there is none)."""
    from arrhythmia.data.aami import AAMI_CLASSES

    offsets = {c: classifier.logit_bias[AAMI_CLASSES.index(c)] for c in ("S", "V")}
    for name, stage in (
        ("stage", classifier.second_stage),
        ("ventricular", classifier.ventricular_stage),
    ):
        if stage is not None:
            offsets[name] = stage["offset"]
    return offsets


def load_arrays(params, dataset: str | None):
    from arrhythmia.data.beat_dataset import load_dataset

    return load_dataset(Path(dataset or params.paths.dataset))


def spread_table(rows: list[dict]) -> str:
    """Per figure: every run, then mean, sd and range over the distinct runs (percent)."""
    distinct = [r for r in rows if not r.get("repeat")]
    names = [r["variant"] for r in distinct]
    lines = [
        "| figure (%) | " + " | ".join(names) + " | mean | sd | range |",
        "|:--|" + "--:|" * (len(names) + 3),
    ]
    for key, label in present_figures(distinct):
        values = [100 * r[key] for r in distinct]
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        cells = [f"{v:.1f}" for v in values]
        cells += [f"{statistics.mean(values):.1f}", f"{sd:.1f}", f"{max(values) - min(values):.1f}"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def design_of(variant: str) -> str:
    """The variant without its seed: the design that several seeds train."""
    kept = [part for part in variant.split(";") if not part.startswith("seed=")]
    return ";".join(kept) or "params.yaml"


def present_figures(rows: list[dict]) -> list[tuple[str, str]]:
    """The figures every row has (rows saved before `--rule` lack its two), with DS2's SVEB
    Se of each record `evaluate` singles out, alone and without it, where rows have them."""
    figures = list(FIGURES)
    for key in rows[0] if rows else []:
        if key.startswith("ds2_record_") and key.endswith("_sveb_se"):
            record = key.removeprefix("ds2_record_").removesuffix("_sveb_se")
            without = f"ds2_without_{record}_sveb_se"
            figures += [(key, f"DS2 SVEB Se, record {record} alone"),
                        (without, f"DS2 SVEB Se, without {record}")]  # fmt: skip
    return [(key, label) for key, label in figures if all(key in r for r in rows)]


def design_table(rows: list[dict]) -> str:
    """Per design (its seeds pooled): mean ± sd (range) of every figure, and which design
    wins on the development set's out-of-fold score. DS2 is shown, never used to choose."""
    designs: dict[str, list[dict]] = {}
    for row in rows:
        if not row.get("repeat"):
            designs.setdefault(design_of(row["variant"]), []).append(row)
    lines = ["| figure (%) | " + " | ".join(f"{d} ({len(r)} seeds)" for d, r in designs.items())
             + " |", "|:--|" + "--:|" * len(designs)]  # fmt: skip
    for key, label in present_figures([r for runs in designs.values() for r in runs]):
        cells = []
        for runs in designs.values():
            values = [100 * r[key] for r in runs]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.1f} ± {sd:.1f} "
                         f"({max(values) - min(values):.1f})")  # fmt: skip
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    best = max(designs, key=lambda d: statistics.mean(r["dev_score"] for r in designs[d]))
    lines.append(f"\nchosen on the development set's out-of-fold score: {best}")
    return "\n".join(lines)


def offset_lines(rows: list[dict]) -> list[str]:
    """Each run's decision offsets (rows saved before they were recorded have none)."""
    return [
        f"decision offsets, {r['variant']}: "
        + ", ".join(f"{name} {value:+.2f}" for name, value in r["offsets"].items())
        for r in rows
        if "offsets" in r and not r.get("repeat")
    ]


def identity_lines(rows: list[dict]) -> list[str]:
    lines = []
    for i, repeat in enumerate(rows):
        if not repeat.get("repeat"):
            continue
        # the same variant's last run before it: with --append, not one from an older call
        first = next(r for r in reversed(rows[:i])
                     if r["variant"] == repeat["variant"] and not r.get("repeat"))  # fmt: skip
        same = first["weights"] == repeat["weights"]
        lines.append(
            f"same variant ({repeat['variant']}) trained twice on this machine: weights "
            + ("bit-identical" if same else f"DIFFER ({first['weights']} vs {repeat['weights']})")
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", default=DEFAULT_VARIANTS)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--dataset", default=None, help="default: params.yaml paths.dataset")
    parser.add_argument(
        "--out", default="reports/reproducibility/spread.json", help="write the rows as JSON here"
    )
    parser.add_argument("--no-repeat", action="store_true", help="skip the identity re-run")
    parser.add_argument(
        "--append", action="store_true", help="keep the rows already in --out and add these"
    )
    parser.add_argument(
        "--shipped", action="store_true",
        help="first row: the model the pipeline trained (models/, metrics/), not trained again",
    )  # fmt: skip
    parser.add_argument(
        "--rule", action="store_true",
        help="also DS2's SVEB after the no-S-in-AF rule (fits each run's strip AF trees: +3 min)",
    )  # fmt: skip
    parser.add_argument(
        "--networks", default=None, type=Path,
        help="keep the finished networks here, one folder per training setting: variants "
        "that differ only in the decision layer then train once (with --shipped, the "
        "pipeline's networks are copied in as the params.yaml seed's)",
    )  # fmt: skip
    parser.add_argument("--table-from", default=None, help="print the tables of a saved JSON")
    parser.add_argument(
        "--by-design", action="store_true", help="pool each design's seeds (with --table-from)"
    )
    args = parser.parse_args()
    if args.table_from:
        saved = json.loads(Path(args.table_from).read_text())
        print(f"machine: {saved['machine']}")
        print("\n".join(identity_lines(saved["rows"])))
        print(design_table(saved["rows"]) if args.by_design else spread_table(saved["rows"]))
        print("\n".join(offset_lines(saved["rows"])))
        return

    from arrhythmia.config import load_params

    params = load_params(args.params)
    arrays = load_arrays(params, args.dataset)
    single_out = tuple(params.evaluate.single_out)  # the records evaluate reports alone
    variants = args.variants
    if args.shipped:  # the shipped model is the params.yaml row: not trained a second time
        variants = [text for text in variants if text not in ("", "params.yaml")]
    plan = [(text, False) for text in variants]
    if not args.no_repeat and variants:
        plan.insert(1, (variants[0], True))
    rule_inputs = ()
    if args.rule:  # read before the first training: a missing bundle fails at once
        from arrhythmia.models.bundle import BeatClassifier

        rule_inputs = (params, BeatClassifier.load(params.paths.model).ventricular)
    rows = []
    if args.append and args.out and Path(args.out).is_file():
        rows = json.loads(Path(args.out).read_text())["rows"]
    machine = f"{platform.processor() or platform.machine()}, {platform.system()}"

    def keep(row: dict) -> None:
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out:  # after every training: a cut-off run keeps what it finished
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps({"machine": machine, "rows": rows}, indent=2)
                                      + "\n")  # fmt: skip

    if args.shipped:
        # the pipeline's model is params.yaml's seed: the same row as training it here
        keep({"variant": "params.yaml", "repeat": False, "machine": machine,
              **shipped_row(params, arrays, args.rule, single_out)})  # fmt: skip
        shipped = args.networks and network_dir(args.networks, params.train, params.preprocess)
        if shipped and not shipped.exists():
            shutil.copytree(params.paths.checkpoints, shipped)
    for text, repeat in plan:
        cfg = dataclasses.replace(params.train, **parse_variant(text, params.train))
        row = {"variant": text or "params.yaml", "repeat": repeat, "machine": machine}
        # a repeat retrains: it asks whether training gives the same weights again
        networks = None if repeat else args.networks
        row.update(
            train_and_score(
                arrays, cfg, params.preprocess, *rule_inputs, networks=networks,
                single_out=single_out,
            )
        )  # fmt: skip
        keep(row)
    print("\n".join(identity_lines(rows)))
    print(spread_table(rows))
    print("\n".join(offset_lines(rows)))


if __name__ == "__main__":
    main()
