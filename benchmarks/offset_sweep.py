"""How flat the development score is around the shipped S decision: every development
beat's S logit moved by a range of offsets, after the whole decision layer, out of fold.

    python benchmarks/offset_sweep.py     # after `make run`; about 2 min, nothing retrained

The labels are those behind `train`'s figures (benchmarks/af_rule.py --development rebuilds
them from the pipeline's finished checkpoints). Where the score barely moves while the
SVEB Se and +P trade many beats, the single best offset is set by noise
(docs/results.md, "Where the spread comes from").
"""

from __future__ import annotations

import numpy as np
from af_rule import development_proba

from arrhythmia.config import load_params
from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.data.beat_dataset import load_dataset
from arrhythmia.evaluation.ec57 import evaluate_predictions
from arrhythmia.training.calibration import apply_bias
from arrhythmia.training.ensemble import development_beats
from arrhythmia.training.loop import validation_score

SHIFTS = np.round(np.arange(-1.0, 1.01, 0.25), 2)


def main() -> None:
    p = load_params()
    arrays = load_dataset(p.paths.dataset)
    labels = arrays["label"][development_beats(arrays, p.train)].astype(np.int64)
    proba = development_proba(arrays, p)
    print("| S logit moved by | dev score | dev SVEB Se | dev SVEB +P |")
    print("|--:|--:|--:|--:|")
    for shift in SHIFTS:
        bias = np.zeros(len(AAMI_CLASSES))
        bias[AAMI_CLASSES.index("S")] = shift
        predicted = apply_bias(proba, bias).argmax(axis=1)
        m = evaluate_predictions(labels, predicted)
        print(f"| {shift:+.2f} | {100 * validation_score(labels, predicted):.2f} | "
              f"{100 * m['sveb_se']:.1f} | {100 * m['sveb_pp']:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
