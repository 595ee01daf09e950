"""How the learnt VT/VF presence trees join the rules, out of fold on the product itself.

    python benchmarks/vt_vf_presence.py [--out reports/rhythm/vt_vf_presence.json]
    python benchmarks/vt_vf_presence.py --shipped-only --flutter-end window --out F.json

The train stage fits the presence trees (params.yaml `ventricular`) on MITDB's DS1, VFDB
and CUDB (the pipeline's data/raw folders) and reports the product's figures over
record-wise folds: each record diagnosed with trees fitted on the other folds' records,
its whole-record episodes scored against its reference rhythm. This runs the same folds
three ways, changing only how the trees' windows join the rules' (the function
`arrhythmia.rhythm.episodes._with_learnt_presence`, swapped here):

- rules alone: no trees (the product before them; the rules' thresholds were chosen on
  these records, so this column is in sample);
- trees gate the rules: only where the trees find VT or VF, named by the rules (their call,
  VT on a run of V beats, else flutter), close to the reading `benchmarks/vt_vf_windows.py`
  scored;
- trees add to the rules (shipped): the rules' calls stay, and what the trees find beyond
  them is flutter unless a run of V beats makes it VT.

In both ways with trees, the trees' windows obey the rules' safeguards: none where regular
non-V beats are found, at least `vfl_min_windows` in a row, and no flutter (the rules' too)
bridged across a run of V beats.

The shipped way was chosen on this table (development records only; DS2 is never read).
Beat classes of DS1's records come from a classifier that learnt from them. Duration Se /
+P in %, and episodes found / reference and true / detected.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

import arrhythmia.inference.diagnose as diagnose
import arrhythmia.rhythm.episodes as episodes
from arrhythmia.atomic import write_json
from arrhythmia.config import load_params
from arrhythmia.data.records import RecordSelection
from arrhythmia.detection.model import QrsDetector
from arrhythmia.evaluation.rhythm_scoring import pool
from arrhythmia.inference.model_handle import load_model
from arrhythmia.rhythm.episodes import FLUTTER_ENDS, RhythmParams
from arrhythmia.training import ventricular as training

SHIPPED = episodes._with_learnt_presence


def _trees_gate(present, flutter, vt, in_vt_run, min_windows):
    kept = episodes._in_runs(present, min_windows)
    return kept & (flutter | (~vt & ~in_vt_run)), kept & vt


SHIPPED_WAY = "trees add to the rules (shipped)"
WAYS = {"rules alone": None, "trees gate the rules": _trees_gate,
        SHIPPED_WAY: SHIPPED}  # fmt: skip
ROWS = [("mitdb", "vt"), ("mitdb", "vf"), ("mitdb", "vt_or_vf"), ("vfdb", "vt"),
        ("vfdb", "vf"), ("vfdb", "vt_or_vf"), ("cudb", "vf"), ("cudb", "vt_or_vf")]  # fmt: skip
NAMES = {"mitdb": "MITDB DS1", "vfdb": "VFDB", "cudb": "CUDB"}
GROUP_NAMES = {"vt": "VT", "vf": "VF", "vt_or_vf": "VT or VF"}


def per_record_scores(records, handle, settings, ways=tuple(WAYS)) -> dict:
    """database -> group -> gross scores, each of `ways`."""
    out, fit = {}, training._fit
    for way, join in ((w, WAYS[w]) for w in ways):
        if join is None:  # no trees in any fold: the product before them
            training._fit = lambda records, params: None
        else:
            episodes._with_learnt_presence = join
        try:
            out[way] = training.out_of_fold_scores(records, handle, settings)
        finally:
            episodes._with_learnt_presence, training._fit = SHIPPED, fit
    return {
        way: {db: {g: pool(s) for g, s in by_group.items()} for db, by_group in scores.items()}
        for way, scores in out.items()
    }


def cell(gross: dict) -> str:
    se, ppv = gross["duration_se"], gross["duration_ppv"]
    duration = "/".join("-" if v is None else f"{100 * v:.1f}" for v in (se, ppv))
    return (
        f"{duration} ({gross['reference_episodes_found']}/{gross['reference_episodes']}, "
        f"{gross['detected_episodes_true']}/{gross['detected_episodes']})"
    )


def f_score(gross: dict) -> float:
    """The harmonic mean of the duration Se and +P (0 where either is undefined)."""
    se, ppv = gross["duration_se"] or 0.0, gross["duration_ppv"] or 0.0
    return 2 * se * ppv / (se + ppv) if se + ppv else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/rhythm/vt_vf_presence.json"))
    parser.add_argument("--shipped-only", action="store_true", help="only the shipped way")
    parser.add_argument("--flutter-end", choices=FLUTTER_ENDS, default=RhythmParams().flutter_end,
                        help="where flutter stretches end (RhythmParams.flutter_end)")  # fmt: skip
    args = parser.parse_args()
    ways = [SHIPPED_WAY] if args.shipped_only else list(WAYS)
    # the product's diagnosis with this setting (its other rhythm settings as shipped)
    diagnose.find_episodes = partial(
        episodes.find_episodes, params=RhythmParams(flutter_end=args.flutter_end)
    )
    p = load_params()
    selection = RecordSelection.from_params(p.data.subset)
    handle = load_model(p.paths.model)
    folders = {"mitdb": (p.paths.raw_dir, selection.ds1), "vfdb": (p.paths.vfdb_raw_dir,
               selection.vfdb), "cudb": (p.paths.cudb_raw_dir, selection.cudb)}  # fmt: skip
    records = training.record_windows(
        {db: (Path(folder), list(names)) for db, (folder, names) in folders.items()},
        handle,
        QrsDetector.load(p.paths.qrs_detector),
    )
    results = per_record_scores(records, handle, p.ventricular, ways)
    write_json(args.out, results)
    print(f"{len(records)} records, {p.ventricular.folds} record-wise folds. Duration Se / +P %")
    print("(episodes found / reference, true / detected):\n")
    print(f"flutter stretches end at: {args.flutter_end}")
    print("| database, rhythm | " + " | ".join(ways) + " |")
    print("|:--|" + "--:|" * len(ways))
    for db, group in ROWS:
        label = f"{NAMES[db]}, {GROUP_NAMES[group]}"
        print(f"| {label} | " + " | ".join(cell(results[w][db][group]) for w in ways) + " |")
    for way in ways:
        f = {db: f_score(results[way][db]["vt_or_vf"]) for db in NAMES}
        print(f"VT-or-VF duration F-score, {way}: "
              + ", ".join(f"{NAMES[db]} {100 * v:.2f}" for db, v in f.items())
              + f"; mean {100 * sum(f.values()) / len(f):.2f}")  # fmt: skip
    print(f"\n({args.out})")


if __name__ == "__main__":
    main()
