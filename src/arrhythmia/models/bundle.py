"""The trained model as shipped: an ensemble of CNNs (one per fold and seed) plus everything
needed to turn beat windows and RR features into AAMI labels, saved as a versioned bundle of
plain data.

The bundle holds only tensors, dicts, lists, numbers and strings, and is read with
`torch.load(weights_only=True)`: a file that holds any other pickled object is refused
instead of executed.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from arrhythmia.atomic import atomic_path
from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.errors import ArrhythmiaError, first_line
from arrhythmia.models.cnn import BeatCNN, CnnConfig, fused_for_inference
from arrhythmia.models.inputs import (
    beat_channels,
    rr_inputs,
    shape_against_template,
    template_beats,
)
from arrhythmia.models.stacking import SupraventricularStage, stage_inputs
from arrhythmia.models.ventricular_stage import (
    VentricularStage,
    morphology_support,
    stage_rows,
    ventricular_inputs,
)
from arrhythmia.rhythm.strip_model import StripAfModel
from arrhythmia.rhythm.ventricular import VentricularModel

BUNDLE_FORMAT = "arrhythmia-beat-classifier"
BUNDLE_VERSION = 6  # bump when the bundle's keys or their meaning change
# 2 added the optional second stage; 3 neighbours, sinus_cluster; 4 the strip AF trees;
# 5 the ventricular presence trees; 6 the ventricular stage
READABLE_VERSIONS = (1, 2, 3, 4, 5, 6)


class ModelFileError(ArrhythmiaError):
    """A model file that is not a bundle this version can read safely."""


@dataclass
class BeatClassifier:
    config: CnnConfig
    state_dicts: list[dict]
    rr_features: tuple[str, ...]
    decimation: int
    crop_margin: int  # samples trimmed from each end of a (decimated) window
    fs: float
    window_pre: int
    window_length: int
    preprocess: dict  # the PreprocessParams the windows were made with
    logit_bias: list[float] = field(default_factory=lambda: [0.0] * len(AAMI_CLASSES))
    template_rule: str = "all"
    template_min_ratio: float = 0.9
    # SupraventricularStage fields: the S-against-N stage over the CNN's output
    second_stage: dict | None = None
    neighbours: bool = False  # the previous and next beat are input channels too
    # StripAfModel.to_dict(): the learnt AF call of short strips (None: the strip thresholds)
    strip_af: dict | None = None
    # VentricularModel.to_dict(): where VT or VF is (None: the flutter / VT rules alone)
    ventricular: dict | None = None
    # VentricularStage fields: which V calls stay V, after the supraventricular stage
    ventricular_stage: dict | None = None
    classes: tuple[str, ...] = AAMI_CLASSES
    _models: list[BeatCNN] = field(default_factory=list, repr=False)
    _traced: list[torch.jit.ScriptModule] = field(default_factory=list, repr=False)

    def models(self) -> list[BeatCNN]:
        if not self._models:
            for state in self.state_dicts:
                model = BeatCNN(self.config)
                model.load_state_dict(state)
                model.eval()
                self._models.append(model)
        return self._models

    def inference_models(self) -> list[torch.jit.ScriptModule]:
        """The fold networks for inference, traced and frozen once (no Python between the
        layers, which counts on a strip's few beats), outputs equal to the trained
        networks' to float precision. Batch norm is folded into the convolutions first,
        which makes the graph to trace smaller (freezing would fold it too). The networks
        share one architecture, so one is traced and the others are copies of that trace
        with their own weights: tracing is most of a process's start after the imports,
        and a copy gives the same outputs, bit for bit, as a trace of its own. The list is
        set whole or not at all: a failure never leaves some of the networks in use."""
        if not self._traced:
            length = len(range(0, self.window_length, self.decimation)) - 2 * self.crop_margin
            example = (
                torch.zeros(8, self.config.in_channels, length),
                torch.zeros(8, self.config.n_rr),
            )
            fused = [fused_for_inference(model) for model in self.models()]
            with warnings.catch_warnings():  # tracing warns about shape-dependent branches
                warnings.simplefilter("ignore")
                trace = torch.jit.trace(fused[0], example, check_trace=False)
            self._traced = [torch.jit.freeze(_with_weights(trace, model)) for model in fused]
        return self._traced

    def template_beats(
        self, windows: np.ndarray, rr: np.ndarray, rr_names: Sequence[str], record_ids: np.ndarray
    ) -> np.ndarray | None:
        """The beats that make each record's template, by the rule the model was trained with."""
        return template_beats(
            rr,
            rr_names,
            self.template_rule,
            self.template_min_ratio,
            windows,
            record_ids,
            self.fs,
            self.window_pre,
        )

    def inputs(
        self,
        windows: np.ndarray,
        rr: np.ndarray,
        rr_names: Sequence[str],
        record_ids: np.ndarray,
        include: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs (centre crop) from dataset-format windows and RR features; `include`:
        the template beats when the caller has them already."""
        if windows.ndim != 3 or windows.shape[-1] != self.window_length:
            raise ValueError(
                f"expected windows of shape (n, 2, {self.window_length}), got {windows.shape}"
            )
        if include is None:
            include = self.template_beats(windows, rr, rr_names, record_ids)
        beats = prepare_beats(windows, record_ids, self.decimation, include, self.neighbours)
        end = beats.shape[-1] - self.crop_margin
        return beats[..., self.crop_margin : end], rr_inputs(rr, rr_names, self.rr_features)

    @torch.no_grad()
    def predict_proba(
        self,
        windows: np.ndarray,
        rr: np.ndarray,
        rr_names: Sequence[str],
        record_ids: np.ndarray,
        batch_size: int = 512,
    ) -> np.ndarray:
        """(n, 5) class probabilities: the mean of the fold models' softmax, then the bias;
        then, in a bundle with a second stage, that stage over them and the beat's context."""
        include = self.template_beats(windows, rr, rr_names, record_ids)
        beats, rr_in = self.inputs(windows, rr, rr_names, record_ids, include)
        proba = ensemble_proba(self.inference_models(), beats, rr_in, self.logit_bias, batch_size)
        if self.second_stage is None:
            return proba
        shape = shape_against_template(windows, record_ids, include, self.fs, self.window_pre)
        stage = SupraventricularStage(**self.second_stage)
        proba = stage.apply(proba, stage_inputs(proba, rr, rr_names, shape))
        if self.ventricular_stage is None:
            return proba
        called_v = stage_rows(proba)
        support = morphology_support(windows, record_ids, called_v, self.fs, self.window_pre)
        v_stage = VentricularStage(**self.ventricular_stage)
        return v_stage.apply(proba, ventricular_inputs(proba, support))

    def strip_af_model(self) -> StripAfModel | None:
        return _learnt_call(self.strip_af, StripAfModel, "strip AF model")

    def ventricular_model(self) -> VentricularModel | None:
        return _learnt_call(self.ventricular, VentricularModel, "ventricular model")

    def predict(self, *args, **kwargs) -> np.ndarray:
        return self.predict_proba(*args, **kwargs).argmax(axis=1)

    def save(self, path: str | Path) -> None:
        payload = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        payload["config"] = self.config.to_dict()
        payload["format"] = BUNDLE_FORMAT
        payload["format_version"] = BUNDLE_VERSION
        with atomic_path(path) as tmp:
            # a file object: the temporary name must not be written into the archive
            with tmp.open("wb") as handle:
                torch.save(payload, handle)

    @classmethod
    def load(cls, path: str | Path) -> BeatClassifier:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no trained model here (run the train stage)")
        payload = load_plain(path)
        if not isinstance(payload, dict) or payload.get("format") != BUNDLE_FORMAT:
            raise ModelFileError(f"{path}: not an arrhythmia model bundle")
        version = payload.get("format_version")
        if version not in READABLE_VERSIONS:
            raise ModelFileError(
                f"{path}: model bundle format version {version!r} is not one this arrhythmia "
                f"reads (version {BUNDLE_VERSION}); re-train it or use a matching release"
            )
        payload = {k: v for k, v in payload.items() if k not in ("format", "format_version")}
        try:
            config = dict(payload.pop("config"))
            config["widths"] = tuple(config["widths"])
            return cls(config=CnnConfig(**config), **payload)
        except (TypeError, KeyError, ValueError) as error:
            raise ModelFileError(f"{path}: damaged model bundle ({error})") from None


def _with_weights(trace: torch.jit.ScriptModule, model: BeatCNN) -> torch.jit.ScriptModule:
    """A copy of `trace` (a traced network of `model`'s architecture) with `model`'s weights."""
    clone = copy.deepcopy(trace)
    clone.load_state_dict(model.state_dict())
    return clone.eval()


def load_plain(path: Path) -> object:
    """`torch.load` restricted to plain data (weights_only): no code runs on load."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # UnpicklingError for foreign objects, RuntimeError for garbage
        raise ModelFileError(
            f"{path}: refused: not a file of plain tensors and data that loads safely "
            f"({first_line(error)})"
        ) from None


def prepare_beats(
    windows: np.ndarray,
    record_ids: np.ndarray,
    decimation: int,
    include: np.ndarray | None = None,
    neighbours: bool = False,
) -> np.ndarray:
    """Beat channels at the model's rate. The windows were low-passed well below the
    decimated Nyquist frequency, so taking every `decimation`-th sample does not alias."""
    return beat_channels(windows[..., ::decimation], record_ids, include, neighbours)


def with_logit_bias(proba: torch.Tensor, logit_bias: Sequence[float]) -> torch.Tensor:
    """(n, classes) probabilities shifted by the decision layer's per-class logit bias."""
    bias = torch.tensor(logit_bias, dtype=torch.float32)
    return torch.softmax(torch.log(proba.clamp_min(1e-8)) + bias, dim=1)


@torch.no_grad()
def ensemble_proba(
    models: Sequence[torch.nn.Module],
    beats: np.ndarray,
    rr: np.ndarray,
    logit_bias: Sequence[float],
    batch_size: int = 2048,
) -> np.ndarray:
    out = []
    for start in range(0, len(beats), batch_size):
        b = torch.from_numpy(np.ascontiguousarray(beats[start : start + batch_size]))
        r = torch.from_numpy(np.ascontiguousarray(rr[start : start + batch_size]))
        probs = torch.stack([torch.softmax(m(b, r), dim=1) for m in models]).mean(dim=0)
        out.append(with_logit_bias(probs, logit_bias).numpy())
    if not out:
        return np.zeros((0, len(logit_bias)), dtype=np.float32)
    return np.concatenate(out)


def _learnt_call(plain: dict | None, model_class, what: str):
    """The learnt call a bundle carries as plain data (None where it carries none); a
    damaged one is refused when the bundle is read, not in the middle of a diagnosis."""
    if plain is None:
        return None
    try:
        return model_class.from_dict(plain)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"damaged {what} in the bundle ({error})") from None
