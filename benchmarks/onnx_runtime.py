"""Would ONNX Runtime classify beats faster than torch on this machine? Issue 20 asks for an
inference runtime made for this to be measured side by side, and the faster kept.

    pip install onnxruntime onnx     # not dependencies of the project: measured, not used
    python benchmarks/onnx_runtime.py [--model models/cnn.pt] [--beats 6144] [--repeats 5]

1. Start: importing torch, and importing onnxruntime, each alone in a fresh process
   (median of 3; each includes importing numpy); then making the loaded networks ready,
   once: torch folds, traces and freezes them (`inference_models`), ONNX Runtime builds a
   session from the exported graph (the export, a build-time step, is not timed).
2. Classification: the bundle's networks (`make run`'s model) over the same beats, in
   batches of 2048 as the product runs them: torch as the product runs it
   (`ensemble_proba` over `inference_models`: batch norm folded, traced, frozen), against
   one ONNX graph holding the same folded networks (torch's TorchScript exporter, which
   needs the `onnx` package), run by ONNX Runtime on as many intra-op threads as torch
   uses, full graph optimisation; the same bias mixing after it. Prints ms per 1 000 beats
   (median of the repeats, after one warm-up) and the largest difference between the two
   runtimes' class probabilities.

The beats are random normal arrays of the model's input shape: the time of a convolution
does not depend on the values. The machine should be otherwise idle.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from arrhythmia.models.bundle import BeatClassifier, ensemble_proba, with_logit_bias
from arrhythmia.models.cnn import fused_for_inference

BATCH = 2048  # ensemble_proba's default, the product's batch


class AllNetworks(torch.nn.Module):
    """Every network's softmax, stacked: one graph for the runtime to schedule."""

    def __init__(self, networks: list[torch.nn.Module]):
        super().__init__()
        self.networks = torch.nn.ModuleList(networks)

    def forward(self, beats: torch.Tensor, rr: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.softmax(m(beats, rr), dim=1) for m in self.networks])


def import_seconds(module: str) -> float:
    """Median wall time of `python -c "import <module>"` in a fresh process, of 3."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def onnx_graph(classifier: BeatClassifier, beats: np.ndarray, rr: np.ndarray) -> bytes:
    """The bundle's folded networks as one ONNX graph, which a product would ship."""
    graph = AllNetworks([fused_for_inference(m) for m in classifier.models()]).eval()
    buffer = io.BytesIO()
    torch.onnx.export(
        graph,
        (torch.from_numpy(beats[:8]), torch.from_numpy(rr[:8])),
        buffer,
        input_names=["beats", "rr"],
        output_names=["proba"],
        dynamic_axes={"beats": {0: "n"}, "rr": {0: "n"}, "proba": {1: "n"}},
        dynamo=False,
    )
    return buffer.getvalue()


def onnx_session(graph: bytes):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def onnx_proba(session, beats: np.ndarray, rr: np.ndarray, logit_bias) -> np.ndarray:
    """ensemble_proba's mean and bias on ONNX Runtime's per-network probabilities."""
    out = []
    for start in range(0, len(beats), BATCH):
        inputs = {"beats": beats[start : start + BATCH], "rr": rr[start : start + BATCH]}
        mean = torch.from_numpy(session.run(None, inputs)[0].mean(axis=0))
        out.append(with_logit_bias(mean, logit_bias).numpy())
    return np.concatenate(out)


def ms_per_1000(run, n_beats: int, repeats: int) -> float:
    run()  # warm-up: first-call allocations
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6 / n_beats  # seconds -> ms, per 1 000 beats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/cnn.pt"))
    parser.add_argument("--beats", type=int, default=3 * BATCH)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    try:
        import onnx  # noqa: F401  (torch's exporter imports it)
        import onnxruntime
    except ImportError:
        sys.exit("onnx_runtime.py needs ONNX Runtime and onnx: pip install onnxruntime onnx")
    classifier = BeatClassifier.load(args.model)
    config = classifier.models()[0].config
    rng = np.random.default_rng(0)
    beats = rng.standard_normal((args.beats, config.in_channels, config.window_length))
    beats = beats.astype(np.float32)
    rr = rng.standard_normal((args.beats, config.n_rr)).astype(np.float32)
    started = time.perf_counter()
    networks, bias = classifier.inference_models(), classifier.logit_bias
    trace_s = time.perf_counter() - started
    graph = onnx_graph(classifier, beats, rr)
    started = time.perf_counter()
    session = onnx_session(graph)
    session_s = time.perf_counter() - started
    difference = np.abs(
        ensemble_proba(networks, beats, rr, bias) - onnx_proba(session, beats, rr, bias)
    ).max()
    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, ", end="")
    print(f"{len(networks)} networks, {torch.get_num_threads()} threads, {args.beats} beats")
    print("| what | torch | ONNX Runtime |\n|:--|--:|--:|")
    print(f"| import, fresh process | {import_seconds('torch'):.2f} s ", end="")
    print(f"| {import_seconds('onnxruntime'):.2f} s |")
    print(f"| networks made ready, model loaded | {trace_s:.2f} s (fold, trace, freeze) ", end="")
    print(f"| {session_s:.2f} s (session from the exported graph) |")
    with torch.inference_mode():
        torch_ms = ms_per_1000(
            lambda: ensemble_proba(networks, beats, rr, bias), args.beats, args.repeats
        )
    onnx_ms = ms_per_1000(lambda: onnx_proba(session, beats, rr, bias), args.beats, args.repeats)
    print(f"| classify, ms per 1 000 beats | {torch_ms:.0f} | {onnx_ms:.0f} |")
    print(f"\nlargest difference between the runtimes' class probabilities: {difference:.1e}")


if __name__ == "__main__":
    main()
