"""Speed and memory of diagnosing raw records on this machine; prints its figures.

    python benchmarks/speed_and_memory.py [--mitdb ../shared/data/mitdb] [--skip-24h]
        [--cinc ../shared/data/cinc2017] [--cinc-count 1000] [--parts 0 1 2 3 4 5]

0. Start: `arrhythmia --help` (bar: under 0.5 s) and `arrhythmia predict` on one 60-s CinC
   strip (A00003), each in a fresh process (median of 3): what a user waits for one strip;
   and what importing torch and scipy.signal alone costs in a fresh process.
1. One 30-minute two-lead record (208) after the model is loaded and its networks traced
   (timed apart): seconds for each step (read, quality, detect, classify, rhythm) and
   beats per second.
2. The 22 DS2 records in one `arrhythmia predict` call, process start included, against
   NeuroKit2's clean + peak detection alone on the same records in one process (also
   started fresh, reading included): the ratio's bar is at most 2 (issue 20).
3. A 24-hour two-lead record (the 48 MITDB records joined end to end) diagnosed by
   `arrhythmia predict` in its own process: wall time and peak resident memory (bars: 20 s,
   1 GiB).
4. The first 1,000 CinC 2017 strips (9-61 s, 300 Hz) in one `arrhythmia predict` call,
   process start included: strips per second (bar: at least 60). Strips under 10 s are
   refused on one line each, as a user would see; they count among the 1,000.
5. The same strips through the batch flow (`python -m flows.diagnose_batch`, one process,
   its temporary Prefect server's start included): strips per second.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from arrhythmia.config import load_params
from arrhythmia.data.records import ALL_RECORDS, DS2

NEUROKIT = """
import sys, wfdb, neurokit2 as nk
for path in sys.argv[1:]:
    record = wfdb.rdrecord(path)
    lead = record.sig_name.index("MLII") if "MLII" in record.sig_name else 0
    cleaned = nk.ecg_clean(record.p_signal[:, lead], sampling_rate=record.fs)
    nk.ecg_peaks(cleaned, sampling_rate=record.fs)
"""


# A child's peak resident memory (ru_maxrss) counts what it inherited from its parent at
# fork, so the measured command is started by a small intermediate Python, not by this
# process, which by then holds a model and a day of signal.
MEASURE = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(child.pid, 0)
print(f"MEASURED {time.perf_counter() - started} {usage.ru_maxrss / 1024} "
      f"{os.waitstatus_to_exitcode(status)}")
"""


IMPORT_TIME = "import time; t = time.perf_counter(); import {}; print(time.perf_counter() - t)"


def run_measured(command: list[str], allowed: tuple[str, ...] = ("0",)) -> tuple[float, float, str]:
    """Wall seconds and peak resident MiB of a command, and its output; an exit status
    not in `allowed` stops the benchmark."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True,
                          text=True)  # fmt: skip
    output = done.stdout + done.stderr
    line = next((x for x in done.stdout.splitlines() if x.startswith("MEASURED ")), None)
    if line is None or line.split()[3] not in allowed:
        raise SystemExit(f"{command[:3]} failed:\n{output[-2000:]}")
    _, seconds, mib, _ = line.split()
    return float(seconds), float(mib), output


def start(cinc: Path) -> None:
    helps = [run_measured([sys.executable, "-m", "arrhythmia.cli", "--help"])[0] for _ in range(3)]
    line = f"0. start: arrhythmia --help {statistics.median(helps):.2f} s (bar: under 0.5 s)"
    strip = cinc / "A00003"
    if strip.with_suffix(".hea").is_file():
        with tempfile.TemporaryDirectory() as out:
            command = [sys.executable, "-m", "arrhythmia.cli", "predict", str(strip), "--out", out]
            one = [run_measured(command)[0] for _ in range(3)]
        line += f"; predict on one 60-s strip (A00003) {statistics.median(one):.2f} s"
    print(line)
    imports = {
        name: statistics.median(
            float(run_measured([sys.executable, "-c", IMPORT_TIME.format(name)])[2].split()[0])
            for _ in range(3)
        )
        for name in ("torch", "scipy.signal")
    }
    print("   importing alone: " + ", ".join(f"{k} {v:.2f} s" for k, v in imports.items()))


def one_record(mitdb: Path, params) -> None:
    from arrhythmia.data.readers import read_record
    from arrhythmia.detection.model import QrsDetector
    from arrhythmia.inference.diagnose import classify_beats, detect_beats
    from arrhythmia.inference.model_handle import classifier_handle
    from arrhythmia.models.bundle import BeatClassifier
    from arrhythmia.rhythm.episodes import find_episodes
    from arrhythmia.signal.ecg import primary_lead_first
    from arrhythmia.signal.quality import assess_quality

    classifier = BeatClassifier.load(params.paths.model)
    traced = time.perf_counter()
    networks = len(classifier.inference_models())
    traced = time.perf_counter() - traced
    model = classifier_handle(classifier, params.paths.model)
    detector = QrsDetector.load(params.paths.qrs_detector)
    steps, t = {}, time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        steps[name] = now - t
        t = now

    ecg = primary_lead_first(read_record(mitdb / "208"))
    lap("read")
    quality = assess_quality(ecg.signal, ecg.fs)
    lap("quality")
    samples = detect_beats(ecg, detector).samples
    samples = samples[~quality.mask(samples)]
    lap("detect")
    proba = classify_beats(ecg, samples, model)
    labels = np.array(list("NSVFQ"))[proba.argmax(axis=1)]
    lap("classify")
    n, unreadable = len(ecg.signal), quality.unreadable
    find_episodes(
        samples, labels, ecg.fs, ecg.signal, n, unreadable, proba=proba, strip_af=model.strip_af
    )
    lap("rhythm")
    total = sum(steps.values())
    print(f"1. record 208 (30 min, 2 leads), model loaded: {total:.2f} s, "
          f"{len(samples) / total:,.0f} beats/s ({len(samples)} beats); its {networks} "
          f"networks traced beforehand in {traced:.2f} s")  # fmt: skip
    print("   " + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items()))


def ds2_against_neurokit(mitdb: Path) -> None:
    paths = [str(mitdb / r) for r in DS2]
    with tempfile.TemporaryDirectory() as out:
        ours, ours_mib, _ = run_measured(
            [sys.executable, "-m", "arrhythmia.cli", "predict", *paths, "--out", out]
        )
    neurokit, _, _ = run_measured([sys.executable, "-c", NEUROKIT, *paths])
    print(f"2. 22 DS2 records, fresh process each: arrhythmia predict {ours:.1f} s "
          f"(peak {ours_mib:,.0f} MiB); NeuroKit2 clean + peaks {neurokit:.1f} s; "
          f"ratio {ours / neurokit:.2f} (bar: at most 2)")  # fmt: skip


def day_long_record(mitdb: Path, folder: Path) -> Path:
    """The 48 MITDB records joined end to end (24.1 h), written as one WFDB record."""
    import wfdb

    pieces = [wfdb.rdrecord(str(mitdb / r), physical=False).d_signal for r in ALL_RECORDS]
    digital = np.concatenate(pieces).astype(np.int16)
    del pieces
    wfdb.wrsamp("day", fs=360, units=["mV", "mV"], sig_name=["MLII", "V1"], d_signal=digital,
                fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[1024, 1024],
                write_dir=str(folder))  # fmt: skip
    return folder / "day"


def twenty_four_hours(mitdb: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        record = day_long_record(mitdb, Path(tmp))
        seconds, mib, output = run_measured(
            [sys.executable, "-m", "arrhythmia.cli", "predict", str(record), "--out", tmp]
        )
    beats = next((line for line in output.splitlines() if "beats (" in line), "")
    print(f"3. 24-hour two-lead record: {seconds:.0f} s, peak resident memory {mib:,.0f} MiB "
          f"(bars: 20 s, 1024 MiB)\n   {beats}")  # fmt: skip


PREDICT = [sys.executable, "-m", "arrhythmia.cli", "predict"]
BATCH_FLOW = [sys.executable, "-m", "flows.diagnose_batch"]


def short_strips(
    cinc: Path, count: int, command: list[str] = PREDICT, part: int = 4, how: str = "in one call"
) -> None:
    strips = sorted(path.with_suffix("") for path in cinc.glob("*.hea"))[:count]
    with tempfile.TemporaryDirectory() as out:
        # exit status 1: some strips were refused (under 10 s), each on its own line
        seconds, mib, output = run_measured(
            [*command, *map(str, strips), "--out", out], allowed=("0", "1")
        )
        written = len(list(Path(out).glob("*.json")))
    # each refused strip named once (a flow's own logs may repeat the line)
    refused = len(set(re.findall(r"error: (\S+): .*at least 10 s are needed", output)))
    if written + refused != len(strips):
        raise SystemExit(
            f"{part}. only {written} of {len(strips)} strips diagnosed:\n{output[-2000:]}"
        )
    print(f"{part}. {len(strips)} CinC 2017 strips {how}: {seconds:.1f} s, "
          f"{len(strips) / seconds:.1f} strips/s (bar: at least 60), {written} diagnosed, "
          f"{len(strips) - written} refused; peak {mib:,.0f} MiB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mitdb", default="../shared/data/mitdb")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--skip-24h", action="store_true")
    parser.add_argument("--cinc", default="../shared/data/cinc2017")
    parser.add_argument("--cinc-count", type=int, default=1000)
    parser.add_argument("--parts", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5],
                        help="which of the numbered measurements to run")  # fmt: skip
    args = parser.parse_args()
    mitdb, cinc, parts = Path(args.mitdb), Path(args.cinc), set(args.parts)
    if args.skip_24h:
        parts.discard(3)
    if parts & {4, 5} and not cinc.is_dir():
        print(f"4, 5. skipped: no CinC 2017 folder at {cinc} (--cinc)")
        parts -= {4, 5}
    measurements = {
        0: lambda: start(cinc),
        1: lambda: one_record(mitdb, load_params(args.params)),
        2: lambda: ds2_against_neurokit(mitdb),
        3: lambda: twenty_four_hours(mitdb),
        4: lambda: short_strips(cinc, args.cinc_count),
        5: lambda: short_strips(cinc, args.cinc_count, BATCH_FLOW, 5, "through the batch flow"),
    }
    for part in sorted(parts):
        measurements[part]()


if __name__ == "__main__":
    main()
