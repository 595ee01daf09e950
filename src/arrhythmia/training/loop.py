"""Training one CNN on the training records of a fold, its epoch selected on the fold's
held-out records (or its last, `epoch_choice: last`), with a checkpoint after every epoch so
an interrupted run can be resumed."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from arrhythmia.atomic import atomic_path
from arrhythmia.config import TrainParams
from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.errors import ArrhythmiaError
from arrhythmia.evaluation.ec57 import confusion, ectopic_f_scores
from arrhythmia.models.bundle import ensemble_proba, load_plain
from arrhythmia.models.cnn import BeatCNN, CnnConfig
from arrhythmia.training.seeding import epoch_rng

log = logging.getLogger(__name__)


class ResumeError(ArrhythmiaError, RuntimeError):
    """A checkpoint cannot be resumed (it was made with other params)."""


@dataclass(frozen=True)
class TrainData:
    beats: np.ndarray  # (n, channels, length) float32 at the model's rate, uncropped
    rr: np.ndarray  # (n, n_rr) float32
    labels: np.ndarray  # (n,) int64
    noise_bank: np.ndarray | None = None  # (rows, cropped length) unit-RMS ECG noise, or none


@dataclass
class FoldResult:
    state_dict: dict
    history: list[dict]
    best_epoch: int
    best_score: float
    # every epoch's (epochs, held-out beats, classes): how a choice of epoch can be judged
    epoch_val_proba: np.ndarray

    @property
    def val_proba(self) -> np.ndarray:
        """The kept epoch's probabilities on the fold's held-out beats."""
        return self.epoch_val_proba[self.best_epoch - 1]


def validation_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean of the SVEB and VEB F-scores built from the EC57 Se and +P: the quantity the
    field reports, for the two classes that matter clinically."""
    return float(np.mean(ectopic_f_scores(confusion(y_true, y_pred))))


def class_weights(labels: np.ndarray, n_classes: int, power: float) -> np.ndarray:
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    weights = (counts.sum() / np.maximum(counts, 1.0)) ** power
    weights[counts == 0] = 0.0
    return weights / weights[counts > 0].min()


class FocalLoss(nn.Module):
    def __init__(self, weight: torch.Tensor, gamma: float):
        super().__init__()
        self.register_buffer("weight", weight)
        self.gamma = gamma

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_p = torch.log_softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
        loss = -((1 - log_p.exp()) ** self.gamma) * log_p * self.weight[target]
        return loss.sum() / self.weight[target].sum()


def make_loss(cfg: TrainParams, weights: np.ndarray) -> nn.Module:
    w = torch.tensor(weights, dtype=torch.float32)
    if cfg.imbalance == "weighted_loss":
        return nn.CrossEntropyLoss(weight=w)
    if cfg.imbalance == "focal_loss":
        return FocalLoss(w, cfg.focal_gamma)
    return nn.CrossEntropyLoss()  # balanced_sampler: balance comes from the sampling


def epoch_order(
    labels: np.ndarray, cfg: TrainParams, weights: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Indices (into `labels`) of one epoch, shuffled, or drawn by class weight. Each epoch
    takes every ectopic beat but only a fresh random `normal_fraction` of the normal ones:
    N beats are nine in ten of the development set and mostly alike, so an epoch costs
    far less for nearly the same information (the decision offsets, tuned afterwards on
    out-of-fold output, absorb the shifted prior)."""
    if cfg.normal_fraction < 1.0:
        normal = labels == AAMI_CLASSES.index("N")
        keep = ~normal | (rng.random(len(labels)) < cfg.normal_fraction)
        labels, chosen = labels[keep], np.flatnonzero(keep)
    else:
        chosen = np.arange(len(labels))
    if cfg.imbalance != "balanced_sampler":
        return chosen[rng.permutation(len(labels))]
    p = weights[labels]
    return chosen[rng.choice(len(labels), size=len(labels), replace=True, p=p / p.sum())]


def augment(
    beats: np.ndarray,
    cfg: TrainParams,
    crop: int,
    rng: np.random.Generator,
    noise_bank: np.ndarray | None = None,
) -> np.ndarray:
    """Random shift (crop), gain and noise: the label must not depend on any of them."""
    offset = int(rng.integers(0, 2 * crop + 1))
    x = beats[..., offset : beats.shape[-1] - 2 * crop + offset]
    gain = rng.uniform(1 - cfg.amplitude_jitter, 1 + cfg.amplitude_jitter, (len(x), 1, 1))
    noise = rng.normal(0.0, cfg.noise_std, x.shape)
    x = (x * gain + noise).astype(np.float32)
    if noise_bank is not None and cfg.ecg_noise_fraction > 0:  # no draw when off: same stream
        add_ecg_noise(x, noise_bank, cfg, rng)
    return x


def add_ecg_noise(
    x: np.ndarray, bank: np.ndarray, cfg: TrainParams, rng: np.random.Generator
) -> None:
    """Add recorded-like noise (rows of `bank`) to a random `cfg.ecg_noise_fraction` of the
    beats in `x`, in place, at a signal-to-noise ratio drawn from `cfg.ecg_noise_snr_db`
    (the signal a sinusoid of the QRS amplitude, 1 after scaling: detection.noise's
    definition). The beat and beat-minus-template channels get the same noise (the template
    is a median over many beats); each neighbour beat its own."""
    groups = 4 if cfg.neighbour_beats else 2
    leads = x.shape[1] // groups
    hit = np.flatnonzero(rng.random(len(x)) < cfg.ecg_noise_fraction)
    low, high = cfg.ecg_noise_snr_db
    rms = (10 ** (-rng.uniform(low, high, len(hit)) / 20) / np.sqrt(8)).astype(np.float32)

    def draw() -> np.ndarray:
        rows = rng.integers(0, len(bank), (len(hit), leads))
        return bank[rows, : x.shape[-1]] * rms[:, None, None]

    beat = draw()
    x[hit, :leads] += beat
    x[hit, leads : 2 * leads] += beat
    for group in range(2, groups):
        x[hit, group * leads : (group + 1) * leads] += draw()


def centre_crop(beats: np.ndarray, crop: int) -> np.ndarray:
    return beats[..., crop : beats.shape[-1] - crop]


def model_config(cfg: TrainParams, data: TrainData, n_classes: int) -> CnnConfig:
    return CnnConfig(
        in_channels=data.beats.shape[1],
        window_length=data.beats.shape[2] - 2 * cfg.max_shift,
        n_rr=data.rr.shape[1],
        n_classes=n_classes,
        widths=tuple(cfg.widths),
        kernel_size=cfg.kernel_size,
        rr_hidden=cfg.rr_hidden,
        hidden=cfg.hidden,
        dropout=cfg.dropout,
    )


# Settings of the decision layer over the networks' output: a checkpoint does not depend on them
DECISION_SETTINGS = (
    "tune_bias",
    "offset_choice",
    "second_stage",
    "second_stage_c",
    "ventricular_stage",
)


def params_fingerprint(cfg: TrainParams, extra: dict) -> str:
    """What a checkpoint was trained with: every training setting but the decision layer's."""
    train = {k: v for k, v in asdict(cfg).items() if k not in DECISION_SETTINGS}
    text = json.dumps({"train": train, **extra}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class FoldState:
    """Where a fold's training stands after its last finished epoch: what a checkpoint
    holds besides the weights and optimiser, and what the early stopping decides on."""

    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    best_state: dict[str, torch.Tensor] | None = None
    best_score: float = -1.0
    best_epoch: int = -1  # the kept epoch (with `epoch_choice: last`, the last)
    # every epoch's probabilities on the held-out beats, in order: the kept one is the
    # fold's out-of-fold output
    val_probas: list[torch.Tensor] = field(default_factory=list)
    bad_epochs: int = 0
    done: bool = False

    def record_epoch(
        self, row: dict, model: nn.Module, val_proba: np.ndarray, cfg: TrainParams
    ) -> None:
        """Add a finished epoch; keep its weights if its validation score is the best yet,
        and stop after `patience` epochs without a better one or at `max_epochs`. With
        `epoch_choice: last`, every epoch replaces the kept one and only `max_epochs` stops."""
        self.history.append(row)
        self.epoch = row["epoch"]
        self.val_probas.append(torch.from_numpy(val_proba))
        if cfg.epoch_choice == "last" or row["val_score"] > self.best_score:
            self.best_score, self.best_epoch, self.bad_epochs = row["val_score"], row["epoch"], 0
            self.best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            self.bad_epochs += 1
        stopped = cfg.epoch_choice == "best" and self.bad_epochs >= cfg.patience
        self.done = stopped or self.epoch >= cfg.max_epochs

    def to_checkpoint(self) -> dict:
        """Plain data (tensors, lists, numbers) that `torch.load(weights_only=True)` reads."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_checkpoint(cls, saved: dict, path: Path) -> FoldState:
        names = {f.name for f in fields(cls)}
        if not isinstance(saved, dict) or set(saved) != names:
            raise ResumeError(
                f"{path} was written by another version of the training loop; "
                "run the train stage without --resume to start over"
            )
        return cls(**saved)


@dataclass
class FoldTraining:
    """What trains one fold's network: the model and what updates it."""

    model: BeatCNN
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    loss_fn: nn.Module
    weights: np.ndarray  # class weights of the training beats (the loss and the val loss)


def fold_training(
    data: TrainData, train_idx: np.ndarray, cfg: TrainParams, fold: int, n_classes: int
) -> FoldTraining:
    torch.manual_seed(cfg.seed + fold)  # initial weights
    model = BeatCNN(model_config(cfg, data, n_classes))
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.max_epochs)
    weights = class_weights(data.labels[train_idx], n_classes, cfg.class_weight_power)
    return FoldTraining(model, optimizer, scheduler, make_loss(cfg, weights), weights)


def train_epoch(
    training: FoldTraining,
    data: TrainData,
    train_idx: np.ndarray,
    cfg: TrainParams,
    rng: np.random.Generator,
) -> float:
    """One pass over an epoch's beats (`epoch_order`); the mean training loss."""
    order = train_idx[epoch_order(data.labels[train_idx], cfg, training.weights, rng)]
    training.model.train()
    losses = []
    for start in range(0, len(order), cfg.batch_size):
        batch = np.sort(order[start : start + cfg.batch_size])
        if len(batch) < 2:
            continue  # batch norm needs two samples
        x = torch.from_numpy(augment(data.beats[batch], cfg, cfg.max_shift, rng, data.noise_bank))
        r = torch.from_numpy(data.rr[batch])
        y = torch.from_numpy(data.labels[batch])
        loss = training.loss_fn(training.model(x, r), y)
        training.optimizer.zero_grad()
        loss.backward()
        training.optimizer.step()
        losses.append(loss.item())
    training.scheduler.step()
    return float(np.mean(losses))


def validate(
    training: FoldTraining, val_beats: np.ndarray, val_rr: np.ndarray, val_labels: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """The held-out beats' probabilities, weighted loss and validation score."""
    training.model.eval()
    with torch.no_grad():
        proba = ensemble_proba([training.model], val_beats, val_rr, [0.0] * len(training.weights))
        val_loss = nn.functional.nll_loss(
            torch.log(torch.from_numpy(proba).clamp_min(1e-8)),
            torch.from_numpy(val_labels),
            weight=torch.tensor(training.weights, dtype=torch.float32),
        ).item()
    return proba, val_loss, validation_score(val_labels, proba.argmax(axis=1))


def train_fold(
    data: TrainData,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    cfg: TrainParams,
    *,
    fold: int,
    n_classes: int,
    checkpoint: Path,
    fingerprint: str,
    resume: bool,
    progress: bool = True,
) -> FoldResult:
    from tqdm import tqdm

    training = fold_training(data, train_idx, cfg, fold, n_classes)
    state = _resume(checkpoint, training, fingerprint, fold) if resume else FoldState()
    val_beats = centre_crop(data.beats[val_idx], cfg.max_shift)
    bar = tqdm(
        total=cfg.max_epochs,
        initial=state.epoch,
        desc=f"fold {fold}",
        unit="epoch",
        disable=not progress,
    )
    while not state.done and state.epoch < cfg.max_epochs:
        epoch = state.epoch
        train_loss = train_epoch(training, data, train_idx, cfg, epoch_rng(cfg.seed, fold, epoch))
        proba, val_loss, score = validate(
            training, val_beats, data.rr[val_idx], data.labels[val_idx]
        )
        row = {
            "fold": fold,
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "val_score": score,
        }
        state.record_epoch(row, training.model, proba, cfg)
        _save_checkpoint(checkpoint, training, state, fingerprint)
        bar.update(1)
        bar.set_postfix(loss=f"{train_loss:.3f}", val_score=f"{score:.3f}")
        log.info("fold %d epoch %d: %s", fold, epoch + 1, row)
    bar.close()
    return FoldResult(
        state_dict=state.best_state,
        history=state.history,
        best_epoch=state.best_epoch,
        best_score=state.best_score,
        epoch_val_proba=torch.stack(state.val_probas).numpy(),
    )


def _resume(checkpoint: Path, training: FoldTraining, fingerprint: str, fold: int) -> FoldState:
    """The state saved in `checkpoint`, with its weights and optimiser loaded into
    `training`; a fresh state when there is no checkpoint yet."""
    if not checkpoint.is_file():
        return FoldState()
    saved = load_plain(checkpoint)
    if saved["fingerprint"] != fingerprint:
        raise ResumeError(
            f"{checkpoint} was written with other params, data or code version; "
            "run the train stage without --resume to start over"
        )
    state = FoldState.from_checkpoint(saved["state"], checkpoint)
    training.model.load_state_dict(saved["model"])
    training.optimizer.load_state_dict(saved["optimizer"])
    training.scheduler.load_state_dict(saved["scheduler"])
    log.info("fold %d: resuming after epoch %d", fold, state.epoch)
    return state


def _save_checkpoint(
    path: Path, training: FoldTraining, state: FoldState, fingerprint: str
) -> None:
    payload = {
        "model": training.model.state_dict(),
        "optimizer": training.optimizer.state_dict(),
        "scheduler": training.scheduler.state_dict(),
        "state": state.to_checkpoint(),
        "fingerprint": fingerprint,
    }
    with atomic_path(path) as tmp:
        # a file object: the temporary name must not be written into the archive
        with tmp.open("wb") as handle:
            torch.save(payload, handle)
