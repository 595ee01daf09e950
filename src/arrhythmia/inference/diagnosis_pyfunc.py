"""The whole diagnosis as an MLflow pyfunc model: raw ECG in, beats, classes, rhythm episodes
and the summary out. This is the registered model `arrhythmia-cnn`.

Served with `mlflow models serve -m models:/arrhythmia-cnn@champion --env-manager local`,
`POST /invocations` takes
    {"inputs": {"ecg": [[lead1, lead2, ...], ...]},     samples x leads, mV (float32)
     "params": {"fs": 360, "leads": ["MLII", "V1"]}}     fs required, leads optional
and answers {"predictions": {...}}, the same JSON `arrhythmia predict` writes: summary,
episodes, pauses, unreadable stretches and every beat (sample, time_s, label, p).

The signature declares the tensor and the params, so MLflow itself refuses a body of the
wrong shape or type (400). What MLflow cannot check (no fs, fs out of range, under 10 s or
over 24 h, every lead flat or missing) is refused here with a 400 whose message says what
is wrong; the server stays up. No NaN is ever sent back.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
from pathlib import Path

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR
from mlflow.pyfunc import PythonModel
from mlflow.types.schema import ParamSchema, ParamSpec, Schema, TensorSpec

from arrhythmia.data.checks import RecordError
from arrhythmia.inference.pyfunc import PACKAGE_DIR, pip_requirements
from arrhythmia.inference.request import RequestError, ecg_from_request
from arrhythmia.signal.ecg import EcgRecord

_logger = logging.getLogger(__name__)
EXAMPLE_SECONDS = 12.0  # the logged input example: just over the 10 s minimum, small
ECG_INPUT = "ecg"
DETECTOR_NAME = "qrs_detector (in the model)"  # what the diagnosis JSON names as the detector
# The module `mlflow models serve` starts (uvicorn's app); it is importing while it loads us.
SERVER_APP = "mlflow.pyfunc.scoring_server.app"


class DiagnosisModel(PythonModel):
    """pyfunc wrapper: raw ECG + sampling rate -> the diagnosis JSON (see the module doc).

    `predict` has no type hint on purpose: MLflow would infer a signature from it that
    overrides the tensor one (see BeatClassifierModel).
    """

    def load_context(self, context) -> None:
        from arrhythmia.detection.model import QrsDetector
        from arrhythmia.inference.model_handle import classifier_handle
        from arrhythmia.models.bundle import BeatClassifier

        self.classifier = BeatClassifier.load(context.artifacts["classifier"])
        self.detector = QrsDetector.load(context.artifacts["detector"])
        source = (context.model_config or {}).get("source", "registered model")
        self.description = f"mlflow pyfunc ({source})"
        self.handle = classifier_handle(self.classifier, self.description)
        self.classifier.inference_models()  # built once here, not on the first request
        if SERVER_APP in sys.modules:  # loaded by `mlflow models serve`, not by a caller
            self._prepare_to_serve()

    def _prepare_to_serve(self) -> None:
        """Pay at load for what a first request would (lazy imports, first-call
        allocations), then move every object made so far out of the garbage collector's
        sight (`gc.freeze`): a request's JSON becomes tens of thousands of lists, which set
        off full collections that would otherwise walk every object torch and MLflow made.
        Only in the server process: anywhere else, freezing would outlive the caller's
        use of the model."""
        from arrhythmia.inference.diagnoser import Diagnoser

        try:
            Diagnoser(self.handle, self.detector, DETECTOR_NAME).signal(pulse_train())
        except Exception:  # a slower first request, not a reason to refuse to serve
            _logger.warning("warming the model up failed", exc_info=True)
        gc.collect()
        gc.freeze()

    def predict(self, context, model_input, params=None) -> dict:
        from arrhythmia.inference.diagnoser import Diagnoser

        params = params or {}
        diagnoser = Diagnoser(self.handle, self.detector, DETECTOR_NAME)
        try:
            ecg = ecg_from_request(_ecg_input(model_input), params.get("fs"), params.get("leads"))
            info = diagnoser.signal(ecg).json
        except RecordError as error:  # the client's to fix: 400
            raise MlflowException.invalid_parameter_value(str(error)) from None
        except Exception:  # ours to fix: 500, with the traceback in the server's log
            _logger.exception("the diagnosis of a valid request failed")
            raise MlflowException(
                "the diagnosis failed on a valid request (a bug: the server's log has the details)",
                error_code=INTERNAL_ERROR,
            ) from None
        return _finite(info)


def pulse_train(seconds: float = 60.0, fs: float = 360.0, bpm: float = 75.0) -> EcgRecord:
    """A synthetic two-lead ECG of narrow QRS-like pulses: enough beats to run every step
    of the diagnosis (the template's morphology groups included)."""
    t = np.arange(int(seconds * fs)) / fs
    phase = (t % (60.0 / bpm)) - 0.3
    qrs = np.exp(-0.5 * (phase / 0.012) ** 2) + 0.15 * np.exp(-0.5 * ((phase - 0.25) / 0.04) ** 2)
    lead = qrs.astype(np.float32)
    return EcgRecord("warm-up", fs, np.column_stack([lead, 0.5 * lead]), ("MLII", "V1"))


def _ecg_input(model_input):
    if isinstance(model_input, dict) or hasattr(model_input, "keys"):
        if ECG_INPUT not in model_input:
            raise RequestError(
                f'inputs must hold "{ECG_INPUT}" (samples x leads, mV); got {sorted(model_input)}'
            )
        return model_input[ECG_INPUT]
    return model_input  # a bare array: MLflow passes a single unnamed tensor like this


def _finite(info: dict) -> dict:
    """The report, or a 500 if a NaN or infinity slipped into it: never a NaN to a client."""
    try:
        json.dumps(info, allow_nan=False)
    except ValueError:
        raise MlflowException(
            "the diagnosis held a non-finite number; nothing was sent (a bug: please report "
            "the request)",
            error_code=INTERNAL_ERROR,
        ) from None
    return info


def diagnosis_signature() -> ModelSignature:
    """A float32 samples x leads tensor `ecg`; params fs (Hz, required) and leads (names)."""
    inputs = Schema([TensorSpec(np.dtype(np.float32), (-1, -1), ECG_INPUT)])
    params = ParamSchema([ParamSpec("fs", "double", None), ParamSpec("leads", "string", [], (-1,))])
    return ModelSignature(inputs=inputs, params=params)


def log_diagnosis_model(
    classifier_path: Path,
    detector_path: Path,
    example_ecg: np.ndarray,
    example_fs: float,
    example_leads: tuple[str, ...],
    name: str = "model",
):
    """Log the raw-ECG diagnosis (classifier + QRS detector) as a pyfunc in the active run.

    `example_ecg` (samples x leads, mV) becomes the logged input example: its first
    EXAMPLE_SECONDS. The package source travels with the model (`code_paths`).
    Returns the ModelInfo.
    """
    for path in (classifier_path, detector_path):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such model file")
    n = int(round(EXAMPLE_SECONDS * example_fs))
    example = {ECG_INPUT: np.ascontiguousarray(example_ecg[:n], dtype=np.float32)}
    run = mlflow.active_run()
    source = f"run {run.info.run_id}" if run is not None else "registered model"
    return mlflow.pyfunc.log_model(
        name=name,
        python_model=DiagnosisModel(),
        artifacts={"classifier": str(classifier_path), "detector": str(detector_path)},
        code_paths=[str(PACKAGE_DIR)],
        signature=diagnosis_signature(),
        input_example=(example, {"fs": float(example_fs), "leads": list(example_leads)}),
        pip_requirements=pip_requirements(),
        model_config={"source": source},
    )
