"""What the no-S-in-AF rule does at DS2's reference beats: per record, the S beats found
and the false S calls, before and after the rule (the pipeline's model and dataset; run
after `make run`). The rule runs on our own AF detection, never on the reference rhythm.

    python benchmarks/af_rule.py
"""

from __future__ import annotations

import numpy as np

from arrhythmia.config import load_params
from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.data.beat_dataset import load_dataset
from arrhythmia.evaluation.at_reference import rhythm_consistent
from arrhythmia.models.bundle import BeatClassifier

S = AAMI_CLASSES.index("S")


def main() -> None:
    paths = load_params().paths
    arrays = load_dataset(paths.dataset)
    ds2 = arrays["split"] == "DS2"
    records, labels = arrays["record"][ds2], arrays["label"][ds2]
    classifier = BeatClassifier.load(paths.model)
    before = classifier.predict_proba(
        arrays["windows"][ds2], arrays["rr"][ds2], arrays["rr_names"], records
    )
    after = rhythm_consistent(
        paths.raw_dir, records, arrays["sample"][ds2], before, strip_af=classifier.strip_af_model()
    )
    print("| record | S beats | S found before -> after | false S before -> after |")
    print("|:--|--:|--:|--:|")
    totals = np.zeros(4, dtype=int)
    for record in dict.fromkeys(records.tolist()):
        rows = records == record
        is_s = labels[rows] == S
        counts = [int(np.sum(is_s & (p[rows].argmax(axis=1) == S))) for p in (before, after)]
        false = [int(np.sum(~is_s & (p[rows].argmax(axis=1) == S))) for p in (before, after)]
        totals += [*counts, *false]
        if counts[0] != counts[1] or false[0] != false[1]:
            print(f"| {record} | {is_s.sum()} | {counts[0]} -> {counts[1]} | "
                  f"{false[0]} -> {false[1]} |")  # fmt: skip
    print(f"| all DS2 | {int(np.sum(labels == S))} | {totals[0]} -> {totals[1]} | "
          f"{totals[2]} -> {totals[3]} |")  # fmt: skip


if __name__ == "__main__":
    main()
