"""The README's picture of the Holter report: one MITDB record diagnosed with the pipeline's
model and detector, its page written to reports/holter/<record>.html and screenshotted by
headless Chromium into reports/holter/report.png. Prints how long each step took.

    .venv/bin/python benchmarks/holter_screenshot.py [--record 201]

Needs `make run` first (models/cnn.pt, models/qrs_detector.npz), the MITDB mirror
(ARRHYTHMIA_MITDB_MIRROR, else ../shared/data/mitdb) and `chromium` on PATH.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from mitdb_mirror import mitdb_mirror
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tools/ is run from the project, not installed

from arrhythmia.config import load_params  # noqa: E402
from arrhythmia.detection.model import QrsDetector  # noqa: E402
from arrhythmia.inference.model_handle import load_model  # noqa: E402
from arrhythmia.inference.outputs import diagnosis_json  # noqa: E402
from arrhythmia.inference.predict import read_and_diagnose  # noqa: E402
from arrhythmia.reporting import render_holter  # noqa: E402
from tools.screenshot import screenshot  # noqa: E402

# 201: N, S, V and F beats; atrial fibrillation, sinus bradycardia, SVTA, trigeminy, pauses
DEFAULT_RECORD = "201"
WINDOW = (1100, 16000)  # tall enough for the whole page; the empty rest is cropped off


def crop_to_page(png: Path) -> tuple[int, int]:
    """Cut the screenshot just below the page's last row of content, and keep 256 colours:
    a third of the bytes, and no difference to see on flat colours, grid and text."""
    image = Image.open(png).convert("RGB")
    pixels = np.asarray(image)
    background = pixels[-1, 0]
    used = np.flatnonzero((pixels != background).any(axis=(1, 2)))
    bottom = min(len(pixels), int(used[-1]) + 24) if len(used) else len(pixels)
    page = image.crop((0, 0, image.width, bottom))
    page.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        png, optimize=True
    )
    return page.width, page.height


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", default=DEFAULT_RECORD)
    parser.add_argument("--out-dir", default="reports/holter")
    parser.add_argument("--model", default=None, help="default: the pipeline's models/cnn.pt")
    parser.add_argument("--detector", default=None, help="default: models/qrs_detector.npz")
    args = parser.parse_args()

    paths = load_params(ROOT / "params.yaml").paths
    model_path = args.model or str(ROOT / paths.model)
    detector_path = args.detector or str(ROOT / paths.qrs_detector)
    model, detector = load_model(model_path), QrsDetector.load(detector_path)
    out_dir = ROOT / args.out_dir

    start = time.perf_counter()
    ecg, d = read_and_diagnose(mitdb_mirror() / args.record, model, detector)
    info = diagnosis_json(d, model.description, detector_path)
    diagnosed = time.perf_counter()
    page = render_holter(d, ecg.signal, info, out_dir / f"{args.record}.html")
    rendered = time.perf_counter()
    png = screenshot(page, out_dir / "report.png", width=WINDOW[0], height=WINDOW[1])
    size = crop_to_page(png)
    shot = time.perf_counter()

    minutes = d.n_samples / d.fs / 60
    print(f"record {args.record}: {minutes:.1f} min, {len(d.samples)} beats, "
          f"{len(d.episodes)} episodes")  # fmt: skip
    print(f"read + diagnose: {diagnosed - start:.1f} s")
    print(f"render the page: {rendered - diagnosed:.1f} s ({page.stat().st_size / 1e6:.1f} MB)")
    print(f"screenshot:      {shot - rendered:.1f} s ({size[0]} x {size[1]} px)")
    print(f"wrote {page.relative_to(ROOT)} and {png.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
