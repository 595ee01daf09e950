"""Does noise in training help? Trains one ensemble per variant (params.yaml's `train` with
`;`-separated overrides), prints its development out-of-fold figures, then counts its V calls
end to end on NSTDB's noisy copies of DS1's 118 and 119 (electrode-motion noise recorded,
not synthetic: new to every variant; the clean records are DS1's). DS2 is not read.

    python benchmarks/noise_augmentation.py "seeds=1;threads=1;ecg_noise_fraction=0" \
        "seeds=1;threads=1;ecg_noise_fraction=0.3"

The noisy copies are read from --nstdb (../shared/data/nstdb). Each model is saved under
--out so that the NSTDB part can be re-run with --models-from without training again.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

from model_selection import parse_variant  # same `key=value;...` variants
from noise_gate import NSTDB, V, record_parts
from noise_levels import SNRS

from arrhythmia.config import load_params
from arrhythmia.data.beat_dataset import load_dataset
from arrhythmia.detection.model import QrsDetector
from arrhythmia.evaluation.end_to_end import beat_confusion
from arrhythmia.inference.model_handle import load_model


def train_variant(params, arrays, variant: str, out: Path) -> dict:
    from arrhythmia.training.ensemble import train_ensemble

    cfg = dataclasses.replace(params.train, **parse_variant(variant, params.train))
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        classifier, report = train_ensemble(
            arrays, cfg, params.preprocess, Path(tmp), progress=False
        )
    classifier.save(out)
    dev = {k: report.val_metrics.get(k) for k in ("sveb_se", "sveb_pp", "veb_se", "veb_pp")}
    seconds = round(time.monotonic() - started)
    return {"variant": variant, "dev_score": report.val_score, **dev, "seconds": seconds}


def nstdb_v_counts(model_path: Path, detector: QrsDetector, nstdb: Path) -> dict[str, list]:
    """Per SNR: [V found, reference V, false V] over 118 and 119, end to end."""
    model = load_model(str(model_path))
    counts = {}
    for snr in SNRS:
        total = 0
        for name in (n for n in NSTDB if n.endswith(f"e{snr}")):
            p = record_parts(nstdb / name, model, detector)
            found = beat_confusion(p["ref"], p["ref_labels"], p["samples"], p["labels"], p["fs"])
            total = total + found
        counts[snr] = [
            int(total[V, V]),
            int(total[V, :].sum()),
            int(total[:, V].sum() - total[V, V]),
        ]
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", default=["seeds=1;threads=1"])
    parser.add_argument("--nstdb", default="../shared/data/nstdb")
    parser.add_argument("--out", default="reports/noise_augmentation")
    parser.add_argument("--models-from", action="store_true", help="reuse the saved models")
    args = parser.parse_args()
    params = load_params()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    detector = QrsDetector.load(params.paths.qrs_detector)
    arrays = None if args.models_from else load_dataset(params.paths.dataset)
    rows = []
    for k, variant in enumerate(args.variants):
        model_path = out / f"variant{k}.pt"
        row = (
            {"variant": variant}
            if args.models_from
            else train_variant(params, arrays, variant, model_path)
        )
        row["nstdb_v"] = nstdb_v_counts(model_path, detector, Path(args.nstdb))
        rows.append(row)
        print(json.dumps(row), flush=True)
    (out / "rows.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(
        "| variant | dev score | dev VEB Se / +P | dev SVEB Se / +P "
        "| NSTDB false V, 24/18/12/6/0/-6 dB | NSTDB V found, 6 dB |"
    )
    print("|:--|--:|--:|--:|--:|--:|")
    for row in rows:
        print(table_row(row))


def percent(row: dict, key: str) -> str:
    return f"{100 * row[key]:.1f}" if row.get(key) is not None else "-"


def table_row(row: dict) -> str:
    nst = row["nstdb_v"]
    dev = [
        percent(row, "dev_score"),
        f"{percent(row, 'veb_se')} / {percent(row, 'veb_pp')}",
        f"{percent(row, 'sveb_se')} / {percent(row, 'sveb_pp')}",
    ]
    false_v = "/".join(str(nst[snr][2]) for snr in SNRS)
    return (
        f"| {row['variant']} | {' | '.join(dev)} | {false_v} | {nst['06'][0]} of {nst['06'][1]} |"
    )


if __name__ == "__main__":
    main()
