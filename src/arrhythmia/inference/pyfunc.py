"""The trained BeatClassifier alone as an MLflow pyfunc model: beat-level input, for research
(registered as `arrhythmia-cnn-beats`; the default model, `arrhythmia-cnn`, takes raw ECG:
see diagnosis_pyfunc.py).

Input (named tensors, the signature from `model_signature`):
    windows: float32 (n, 2, 252) dataset-format beat windows (2 leads, 360 Hz, R peak at 90)
    rr:      float32 (n, len(RR_FEATURES)) RR features in `arrhythmia.signal.rr.RR_FEATURES` order
Output: a DataFrame with one row per beat: `label` (AAMI class letter) and p_N, p_S, p_V,
p_F, p_Q (float64 probabilities summing to 1).

All beats of ONE request are treated as ONE record, in time order: the model compares
every beat with its record's sinus beat (the median of the non-premature beats of the
largest morphology group; the median of all of them when fewer than 32 qualify), taken
over the request, and it also reads each beat's previous and next beat in the request. A
request should therefore carry consecutive beats of a single record in time order, ideally
all of them; a request of a few ectopic beats, shuffled beats, or beats mixed from several
patients gets a wrong template or wrong neighbours, and worse labels.

Served with `mlflow models serve -m models:/arrhythmia-cnn@champion --env-manager local`,
`POST /invocations` takes the tensors as the `inputs` field of a JSON body:
    {"inputs": {"windows": [[[...252 floats...], [...252 floats...]], ...],
                "rr": [[...14 floats...], ...]}}
and answers {"predictions": [{"label": "N", "p_N": 0.98, ...}, ...]}.
"""

from __future__ import annotations

from importlib.metadata import version as installed_version
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types.schema import ColSpec, Schema, TensorSpec

from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.signal.ecg import N_LEADS
from arrhythmia.signal.rr import RR_FEATURES

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/arrhythmia, shipped with the model
MAX_EXAMPLE_BEATS = 8
OUTPUT_COLUMNS: tuple[str, ...] = ("label", *(f"p_{c}" for c in AAMI_CLASSES))


class BeatClassifierModel(PythonModel):
    """pyfunc wrapper: dataset-format windows + RR features -> AAMI labels and
    probabilities.

    `predict`'s input deliberately has no type hint, although MLflow warns ("Add type hints
    to the `predict` method", at class creation; its own `simplefilter("once")` defeats
    warning filters): a supported hint (list[...], a pydantic model) would make MLflow infer
    a signature that overrides the tensor one, and a dict of tensors has no supported hint.
    """

    def load_context(self, context) -> None:
        from arrhythmia.models.bundle import BeatClassifier

        self.classifier = BeatClassifier.load(context.artifacts["classifier"])
        self.classifier.inference_models()  # build the fold networks once, not on the first request

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        """One request = one record (see the module docstring). Malformed or non-finite
        input is refused (a 400 when served): a NaN in must never become a label out."""
        try:
            windows, rr = _split_input(model_input)
        except (TypeError, ValueError) as error:
            raise MlflowException.invalid_parameter_value(str(error)) from None
        classes = list(self.classifier.classes)
        if len(windows) == 0:
            return _frame(np.zeros((0, len(classes))), classes)
        record_ids = np.zeros(len(windows), dtype=np.int64)
        proba = self.classifier.predict_proba(windows, rr, RR_FEATURES, record_ids)
        return _frame(proba, classes)


def _split_input(model_input) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(model_input, pd.DataFrame) or not hasattr(model_input, "keys"):
        raise TypeError(
            f'expected a dict of arrays {{"windows": (n, 2, L), "rr": (n, {len(RR_FEATURES)})}} '
            f'(JSON body {{"inputs": {{"windows": ..., "rr": ...}}}}), got {type(model_input)}'
        )
    missing = {"windows", "rr"} - set(model_input.keys())
    if missing:
        raise ValueError(f"model input lacks {sorted(missing)}; it has {sorted(model_input)}")
    windows = np.asarray(model_input["windows"], dtype=np.float32)
    rr = np.asarray(model_input["rr"], dtype=np.float32)
    if windows.ndim != 3 or windows.shape[1] != N_LEADS:
        raise ValueError(f"windows must be (n, {N_LEADS}, L), got {windows.shape}")
    if rr.ndim != 2 or rr.shape[1] != len(RR_FEATURES):
        raise ValueError(f"rr must be (n, {len(RR_FEATURES)}), got {rr.shape}")
    if len(rr) != len(windows):
        raise ValueError(f"{len(windows)} windows but {len(rr)} rows of rr features")
    for name, values in (("windows", windows), ("rr", rr)):
        bad = np.flatnonzero(~np.isfinite(values).all(axis=tuple(range(1, values.ndim))))
        if len(bad):
            raise ValueError(
                f"{name} holds NaN or infinite values at beats {bad[:10].tolist()}"
                f"{' ...' if len(bad) > 10 else ''}: every value must be a finite number"
            )
    return windows, rr


def _frame(proba: np.ndarray, classes: list[str]) -> pd.DataFrame:
    proba = np.asarray(proba, dtype=np.float64)
    frame = pd.DataFrame({"label": [classes[i] for i in proba.argmax(axis=1)]}, dtype=object)
    for j, name in enumerate(classes):
        frame[f"p_{name}"] = proba[:, j]
    return frame


def model_signature(window_length: int, n_rr: int = len(RR_FEATURES)) -> ModelSignature:
    """Named float32 tensors in; a label column and one probability column per class out."""
    inputs = Schema(
        [
            TensorSpec(np.dtype(np.float32), (-1, N_LEADS, window_length), "windows"),
            TensorSpec(np.dtype(np.float32), (-1, n_rr), "rr"),
        ]
    )
    outputs = Schema(
        [ColSpec("string", "label"), *(ColSpec("double", f"p_{c}") for c in AAMI_CLASSES)]
    )
    return ModelSignature(inputs=inputs, outputs=outputs)


def _pin(package: str) -> str:
    """`package==version` of the installed distribution, without a local label (+cpu)."""
    return f"{package}=={installed_version(package).split('+')[0]}"


def pip_requirements() -> list[str]:
    # Explicit requirements: MLflow then neither infers them (loading the model in a
    # subprocess) nor needs the network. Each package once: MLflow runs pip's resolver
    # (online) only to merge a package named twice.
    return [
        _pin("mlflow"),
        _pin("torch"),
        _pin("numpy"),
        "scipy",
        "pandas",
        "wfdb",
        _pin("scikit-learn"),  # k-means picks the patient's template: same version, same beats
        _pin("sleepecg"),  # the QRS detector's candidates (the raw-ECG model)
        "pyyaml",
    ]


def log_beat_classifier(
    classifier_path: Path,
    input_example: dict[str, np.ndarray],
    name: str = "model",
):
    """Log the saved BeatClassifier at `classifier_path` as a pyfunc model in the active run.

    The package source (src/arrhythmia) travels with the model (`code_paths`), so the
    model loads where the package is not installed. `input_example` is a dict
    {"windows", "rr"} of a few beats (only the first MAX_EXAMPLE_BEATS are kept).
    Returns the ModelInfo (model_uri, model_id, signature, ...).
    """
    classifier_path = Path(classifier_path)
    if not classifier_path.is_file():
        raise FileNotFoundError(f"{classifier_path}: no saved BeatClassifier")
    windows, rr = _split_input(input_example)
    example = {
        "windows": np.ascontiguousarray(windows[:MAX_EXAMPLE_BEATS]),
        "rr": np.ascontiguousarray(rr[:MAX_EXAMPLE_BEATS]),
    }
    return mlflow.pyfunc.log_model(
        name=name,
        python_model=BeatClassifierModel(),
        artifacts={"classifier": str(classifier_path)},
        code_paths=[str(PACKAGE_DIR)],
        signature=model_signature(window_length=windows.shape[-1], n_rr=rr.shape[-1]),
        input_example=example,
        pip_requirements=pip_requirements(),
    )
