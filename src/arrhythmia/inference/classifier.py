"""The trained model as shipped: an ensemble of fold CNNs plus everything needed to turn
beat windows and RR features into AAMI labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from arrhythmia.atomic import atomic_path
from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.models.cnn import BeatCNN, CnnConfig
from arrhythmia.models.inputs import beat_channels, rr_inputs, template_beats


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
    classes: tuple[str, ...] = AAMI_CLASSES
    _models: list[BeatCNN] = field(default_factory=list, repr=False)

    def models(self) -> list[BeatCNN]:
        if not self._models:
            for state in self.state_dicts:
                model = BeatCNN(self.config)
                model.load_state_dict(state)
                model.eval()
                self._models.append(model)
        return self._models

    def inputs(
        self, windows: np.ndarray, rr: np.ndarray, rr_names: Sequence[str], record_ids: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Model inputs (centre crop) from dataset-format windows and RR features."""
        if windows.ndim != 3 or windows.shape[-1] != self.window_length:
            raise ValueError(
                f"expected windows of shape (n, 2, {self.window_length}), got {windows.shape}"
            )
        include = template_beats(rr, rr_names, self.template_rule, self.template_min_ratio)
        beats = prepare_beats(windows, record_ids, self.decimation, include)
        end = beats.shape[-1] - self.crop_margin
        return beats[..., self.crop_margin : end], rr_inputs(rr, rr_names, self.rr_features)

    @torch.no_grad()
    def predict_proba(
        self,
        windows: np.ndarray,
        rr: np.ndarray,
        rr_names: Sequence[str],
        record_ids: np.ndarray,
        batch_size: int = 2048,
    ) -> np.ndarray:
        """(n, 5) class probabilities: the mean of the fold models' softmax, then the bias."""
        beats, rr_in = self.inputs(windows, rr, rr_names, record_ids)
        return ensemble_proba(self.models(), beats, rr_in, self.logit_bias, batch_size)

    def predict(self, *args, **kwargs) -> np.ndarray:
        return self.predict_proba(*args, **kwargs).argmax(axis=1)

    def save(self, path: str | Path) -> None:
        payload = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        payload["config"] = self.config.to_dict()
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)

    @classmethod
    def load(cls, path: str | Path) -> BeatClassifier:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no trained model here (run `arrhythmia train`)")
        payload = torch.load(path, map_location="cpu", weights_only=False)
        config = payload.pop("config")
        config["widths"] = tuple(config["widths"])
        return cls(config=CnnConfig(**config), **payload)


def prepare_beats(
    windows: np.ndarray,
    record_ids: np.ndarray,
    decimation: int,
    include: np.ndarray | None = None,
) -> np.ndarray:
    """Beat channels at the model's rate. The windows were low-passed well below the
    decimated Nyquist frequency, so taking every `decimation`-th sample does not alias."""
    return beat_channels(windows[..., ::decimation], record_ids, include)


@torch.no_grad()
def ensemble_proba(
    models: Sequence[torch.nn.Module],
    beats: np.ndarray,
    rr: np.ndarray,
    logit_bias: Sequence[float],
    batch_size: int = 2048,
) -> np.ndarray:
    bias = torch.tensor(logit_bias, dtype=torch.float32)
    out = []
    for start in range(0, len(beats), batch_size):
        b = torch.from_numpy(np.ascontiguousarray(beats[start : start + batch_size]))
        r = torch.from_numpy(np.ascontiguousarray(rr[start : start + batch_size]))
        probs = torch.stack([torch.softmax(m(b, r), dim=1) for m in models]).mean(dim=0)
        out.append(torch.softmax(torch.log(probs.clamp_min(1e-8)) + bias, dim=1).numpy())
    if not out:
        return np.zeros((0, len(logit_bias)), dtype=np.float32)
    return np.concatenate(out)
