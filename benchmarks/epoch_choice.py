"""Which epoch of each network should ship, judged without the optimism of choosing it.

`epoch_choice: best` keeps each network's epoch that early stopping picks on its fold's
held-out patients, then scores those same patients with it: its out-of-fold figures are
optimistic. `last` trains every network `max_epochs` and keeps the last epoch: nothing is
chosen on the held-out patients. Comparing the two designs' training figures therefore
favours `best` by an unknown amount.

Here each ensemble is trained once with every epoch run (`epoch_choice=last`) and every
epoch's held-out output kept. From the same networks (early stopping only stops a run, so
the epochs it runs are the same as here):
- **last**: the last epoch, what `epoch_choice: last` ships;
- **best**: the epoch early stopping keeps (params.yaml's `patience`, on the whole held-out
  fold): what `epoch_choice: best` ships and its training figures;
- **best, nested**: the same early stopping, but each half of a fold's held-out patients is
  scored with the epoch chosen on the other half: no patient is scored by a choice made on
  it (the choice sees half the patients, so this errs on the pessimistic side). One weak
  path remains: the stages' leave-one-record-out fits read the other half's outputs, whose
  epoch this record's labels helped choose (one integer per network).
Each goes through the whole decision layer (offsets, stages) as `train` reports it. DS2 is
not read.

    python benchmarks/epoch_choice.py            # the params.yaml seed, seeds 1 and 2: about 35 min
    python benchmarks/epoch_choice.py --seeds 0 --out /tmp/one_seed.json
    python benchmarks/epoch_choice.py --table-from reports/model_selection/epoch_choice.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from reproducibility import load_arrays

CHOICES = ("last", "best", "best, nested")
FIGURES = [("score", "dev score"), ("sveb_se", "dev SVEB Se"), ("sveb_pp", "dev SVEB +P"),
           ("veb_se", "dev VEB Se"), ("veb_pp", "dev VEB +P")]  # fmt: skip


def stopped_epoch(scores: list[float], cfg) -> int:
    """The epoch (0-based) that early stopping keeps, replayed through the training loop's
    own rule (training.loop.FoldState with `epoch_choice: best`)."""
    from torch import nn

    from arrhythmia.training.loop import FoldState

    best = dataclasses.replace(cfg, epoch_choice="best")
    state, nothing = FoldState(), np.zeros((1, 1), dtype=np.float32)
    for epoch, score in enumerate(scores, start=1):
        state.record_epoch({"epoch": epoch, "val_score": score}, nn.Module(), nothing, best)
        if state.done:
            break
    return state.best_epoch - 1


def halves(records: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Half 0 or 1 for each beat of one fold's held-out beats, patient-wise: records taken
    alternately in order of their S, then V, beat counts, so both halves hold ectopy."""
    from arrhythmia.data.aami import AAMI_CLASSES

    names = np.unique(records)
    if len(names) < 2:
        raise SystemExit(f"a fold holds one record ({names[0]}): too few patients to halve")
    s, v = AAMI_CLASSES.index("S"), AAMI_CLASSES.index("V")
    counts = [(-(labels[records == r] == s).sum(), -(labels[records == r] == v).sum(), r)
              for r in names]  # fmt: skip
    half_of = {r: i % 2 for i, (_, _, r) in enumerate(sorted(counts))}
    return np.array([half_of[r] for r in records])


def chosen_epoch(epochs: np.ndarray, truth: np.ndarray, choice: str, cfg) -> int:
    """The epoch (0-based) `choice` keeps of one network's held-out outputs `epochs`
    (epochs, beats, classes), judged on the beats' labels `truth`."""
    from arrhythmia.training.loop import validation_score

    if choice == "last":
        return len(epochs) - 1
    return stopped_epoch([validation_score(truth, e.argmax(axis=1)) for e in epochs], cfg)


def out_of_fold(
    report, labels: np.ndarray, records: np.ndarray, cfg, choice: str
) -> tuple[np.ndarray, list[int]]:
    """The networks' mean held-out output with each network's epoch kept by `choice`;
    summed in float32 in training's order, so `last` and `best` give training's bit for bit."""
    oof = np.zeros(report.oof_proba.shape, dtype=np.float32)
    kept = []
    # report.epoch_val_proba: one entry per network, seed-major then fold (train_members)
    for network, epochs in enumerate(report.epoch_val_proba):
        val_idx = np.flatnonzero(report.fold_of_beat == network % cfg.folds)
        truth = labels[val_idx]
        if choice != "best, nested":
            e = chosen_epoch(epochs, truth, choice, cfg)
            oof[val_idx] += epochs[e] / cfg.seeds
            kept.append(e + 1)
            continue
        half = halves(records[val_idx], truth)
        for h in (0, 1):  # each half scored by the epoch the other half chose
            e = chosen_epoch(epochs[:, half != h], truth[half != h], "best", cfg)
            oof[val_idx[half == h]] += epochs[e][half == h] / cfg.seeds
            kept.append(e + 1)
    return oof, kept


def score_choices(arrays, report, cfg) -> dict:
    """Each choice's development figures through the decision layer, as `train` reports."""
    from arrhythmia.evaluation.ec57 import evaluate_predictions
    from arrhythmia.training.ensemble import decide, development_beats, development_template
    from arrhythmia.training.loop import validation_score

    dev = development_beats(arrays, cfg)
    labels, records = arrays["label"][dev].astype(np.int64), arrays["record"][dev]
    include = development_template(arrays, cfg)
    figures = {}
    for choice in CHOICES:
        oof, picked = out_of_fold(report, labels, records, cfg, choice)
        predicted = decide(arrays, oof, cfg, report.fold_of_beat, include).validated.argmax(1)
        m = evaluate_predictions(labels, predicted)
        figures[choice] = {
            "score": validation_score(labels, predicted), "sveb_se": m["sveb_se"],
            "sveb_pp": m["sveb_pp"], "veb_se": m["veb_se"], "veb_pp": m["veb_pp"],
            "epochs": picked,
        }  # fmt: skip
    return figures


def train_row(arrays, params, seed: int) -> dict:
    from arrhythmia.training.ensemble import train_ensemble

    cfg = dataclasses.replace(params.train, seed=seed, epoch_choice="last")
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        _, report = train_ensemble(arrays, cfg, params.preprocess, Path(tmp), progress=False)
    row = {"seed": seed, "seconds": round(time.monotonic() - started)}
    row.update(score_choices(arrays, report, cfg))
    dev = np.isin(arrays["split"], cfg.training_sets)
    last, _ = out_of_fold(report, arrays["label"][dev], arrays["record"][dev], cfg, "last")
    row["last_is_training_output"] = bool(np.array_equal(last, report.oof_proba))
    return row


def table(rows: list[dict]) -> str:
    head = ["figure (%)", "epoch", *[f"seed {r['seed']}" for r in rows]]
    if len(rows) > 1:
        head.append("mean ± sd (range)")
    lines = ["| " + " | ".join(head) + " |", "|:--|:--" + "|--:" * (len(head) - 2) + "|"]
    for key, name in FIGURES:
        for choice in CHOICES:
            values = [100 * r[choice][key] for r in rows]
            cells = [f"{v:.1f}" for v in values]
            if len(rows) > 1:
                cells.append(f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f} "
                             f"({max(values) - min(values):.1f})")  # fmt: skip
            lines.append(f"| {name} | {choice} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(rows: list[dict]) -> str:
    """The choice the development set picks: the higher mean score, last against nested."""
    mean = {c: statistics.mean(r[c]["score"] for r in rows) for c in ("last", "best, nested")}
    winner = max(mean, key=mean.get)
    return (f"mean dev score: last {100 * mean['last']:.2f}, best nested "
            f"{100 * mean['best, nested']:.2f} (pessimistic for best): the development "
            f"set picks epoch_choice: {winner.split(',')[0]}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--dataset", default=None, help="default: params.yaml paths.dataset")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="train seeds (default: params.yaml's, 1, 2)")  # fmt: skip
    parser.add_argument("--out", default="reports/model_selection/epoch_choice.json")
    parser.add_argument("--table-from", default=None, help="print the tables of a saved JSON")
    args = parser.parse_args()
    if args.table_from:
        rows = json.loads(Path(args.table_from).read_text())["rows"]
    else:
        from arrhythmia.config import load_params

        params = load_params(args.params)
        arrays = load_arrays(params, args.dataset)
        rows = []
        for seed in args.seeds or [params.train.seed, 1, 2]:
            rows.append(train_row(arrays, params, seed))
            print(json.dumps(rows[-1]), flush=True)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    print(table(rows))
    print("epochs kept (1-based, per member; nested: per half):")
    for r in rows:
        print(f"  seed {r['seed']}: " + "; ".join(f"{c} {r[c]['epochs']}" for c in CHOICES))
    print(verdict(rows))


if __name__ == "__main__":
    main()
