"""Write a request body for the served model (`mlflow models serve`) from part of an ECG
record in any format `arrhythmia predict` reads.

    python examples/make_request.py ../shared/data/mitdb/208 --seconds 60 \
        --out examples/request_208_60s.json

The committed example is the first 60 s of MITDB record 208 (see examples/README.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from arrhythmia.data.readers import read_record
from arrhythmia.inference.request import request_body
from arrhythmia.signal.ecg import primary_lead_first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("record", help="record path (WFDB without extension, .edf or .csv)")
    parser.add_argument("--start", type=float, default=0.0, help="start, s (default 0)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length, s (default 60)")
    parser.add_argument("--fs", type=float, default=None, help="sampling rate (CSV only)")
    parser.add_argument("--out", required=True, help="JSON file to write")
    args = parser.parse_args()
    ecg = primary_lead_first(read_record(args.record, fs=args.fs))
    body = request_body(ecg, args.start, args.seconds)
    Path(args.out).write_text(json.dumps(body, separators=(",", ":")) + "\n")
    n = len(body["inputs"]["ecg"])
    print(
        f"make_request: wrote {args.out}: {n} samples x {len(ecg.leads)} leads at "
        f"{ecg.fs:g} Hz ({n / ecg.fs:.0f} s), {Path(args.out).stat().st_size} bytes"
    )


if __name__ == "__main__":
    main()
