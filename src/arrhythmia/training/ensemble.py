"""Train CNNs per patient-wise fold of the development set (one per seed) and ship their average.

The development set is the splits params.yaml names (train.training_sets: DS1 and the SVDB
records, or DS1 alone for comparison with the DS1-only literature). Every development beat
gets an out-of-fold prediction from the model that did not see its patient; those
predictions are the validation metrics used to select and gate models. DS2 is never
touched here.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from arrhythmia.config import PreprocessParams, TrainParams
from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.evaluation.ec57 import evaluate_predictions
from arrhythmia.models.bundle import BeatClassifier, prepare_beats
from arrhythmia.models.inputs import rr_inputs, shape_against_template, template_beats
from arrhythmia.models.stacking import (
    LogisticStage,
    SupraventricularStage,
    out_of_fold_logit,
    stage_inputs,
)
from arrhythmia.models.ventricular_stage import (
    VentricularStage,
    morphology_support,
    stage_rows,
    ventricular_inputs,
)
from arrhythmia.training.calibration import (
    apply_bias,
    chosen_candidate,
    cross_fitted_bias,
    tune_bias,
)
from arrhythmia.training.folds import patient_folds
from arrhythmia.training.loop import (
    TrainData,
    model_config,
    params_fingerprint,
    train_fold,
    validation_score,
)
from arrhythmia.training.seeding import seed_everything

log = logging.getLogger(__name__)


@dataclass
class TrainingReport:
    folds: dict[str, int]
    history: list[dict]
    best_epochs: list[int]
    val_metrics: dict
    val_score: float
    val_score_untuned: float  # before any decision offsets
    oof_proba: np.ndarray  # (n development beats, n classes): from the CNN that did not see it
    fold_of_beat: np.ndarray
    # per member (seed-major, then fold): every epoch's output on its fold's held-out beats
    epoch_val_proba: list[np.ndarray]


def member_seeds(seed: int, n: int) -> list[int]:
    """The seeds of an ensemble's `n` members per fold: `seed` itself first (one member is
    the single-seed model), then seeds drawn from (seed, k), so that two ensembles with
    different seeds share no member."""
    derived = [int(np.random.SeedSequence([seed, k]).generate_state(1)[0]) for k in range(1, n)]
    return [seed, *derived]


def checkpoint_name(member: int, fold: int) -> str:
    return f"fold{fold}.pt" if member == 0 else f"seed{member}_fold{fold}.pt"


def fold_of(records: np.ndarray, folds: Mapping[str, int]) -> np.ndarray:
    return np.array([folds[r] for r in records])


@dataclass
class Decision:
    """How the ensemble's output becomes a label: the CNN's offsets, then optionally the
    second stage (with its own offset); and the out-of-fold figures."""

    cnn_bias: list[float]
    stage: SupraventricularStage | None
    validated: np.ndarray  # development out-of-fold probabilities, offsets cross-fitted
    untuned_score: float
    ventricular_stage: VentricularStage | None = None


OFFSET_GRID = np.round(np.arange(-2.0, 3.01, 0.25), 2)
STAGE_OFFSET_GRID = np.round(np.arange(-3.0, 3.01, 0.25), 2)
# The ventricular stage is fitted class-balanced over V calls that are mostly true: its
# best offset keeps more of them than the balanced fit would, so its grid reaches further
VENTRICULAR_OFFSET_GRID = np.round(np.arange(-3.0, 8.01, 0.25), 2)


def development_beats(arrays: Mapping[str, np.ndarray], cfg: TrainParams) -> np.ndarray:
    """Which beats of the dataset the model learns from: those of the training splits."""
    return np.isin(arrays["split"], cfg.training_sets)


def development_template(arrays: Mapping[str, np.ndarray], cfg: TrainParams) -> np.ndarray | None:
    """Which development beats make their record's template (None: all of them)."""
    dev = development_beats(arrays, cfg)
    return template_beats(
        arrays["rr"][dev],
        arrays["rr_names"],
        cfg.template_beats,
        cfg.template_min_ratio,
        arrays["windows"][dev],
        arrays["record"][dev],
        float(arrays["fs"]),
        int(arrays["window_pre"]),
    )


def decide(
    arrays: Mapping[str, np.ndarray],
    oof: np.ndarray,
    cfg: TrainParams,
    fold_of_beat: np.ndarray,
    include: np.ndarray | None,
) -> Decision:
    """The decision layer on top of the CNN's development out-of-fold probabilities `oof`
    (`include`: development_template's beats)."""
    dev = development_beats(arrays, cfg)
    records, labels = arrays["record"][dev], arrays["label"][dev].astype(np.int64)
    bias, validated = np.zeros(oof.shape[1]), oof
    untuned_score = validation_score(labels, oof.argmax(axis=1))
    # train.offset_choice, read once here: bag every offset (the CNN's, each stage's) or not
    bagged = records if cfg.offset_choice == "bagged" else None
    if cfg.tune_bias:
        # Shipped offsets: tuned on all the development out-of-fold predictions. Reported:
        # each fold scored with offsets tuned on the other folds only.
        bias, _ = tune_bias(oof, labels, validation_score, OFFSET_GRID, records=bagged)
        validated = cross_fitted_bias(
            oof, labels, fold_of_beat, validation_score, OFFSET_GRID, records=bagged
        )
        log.info(
            "decision offsets tuned on development out-of-fold predictions: %s",
            dict(zip(AAMI_CLASSES, bias.round(2), strict=True)),
        )
    if cfg.second_stage == "none":
        return Decision([float(b) for b in bias], None, validated, untuned_score)

    # The stage reads what the shipped CNN outputs (its offsets applied), for patients the
    # CNN had not seen; its own out-of-fold logits come from leaving each record out. The
    # CNN offsets in its inputs are the shipped ones, tuned on the whole development set: the
    # reported figures are cross-fitted for both offsets' values, not for the stage's inputs.
    cnn = apply_bias(oof, bias)
    rr, windows = arrays["rr"][dev], arrays["windows"][dev]
    fs, window_pre = float(arrays["fs"]), int(arrays["window_pre"])
    shape = shape_against_template(windows, records, include, fs, window_pre)
    x = stage_inputs(cnn, rr, arrays["rr_names"], shape)
    stage, staged = _stacked(
        SupraventricularStage, x, labels, cnn, validated, records, fold_of_beat, cfg,
        bag_over=bagged,
    )  # fmt: skip
    log.info("second stage offset tuned on its out-of-fold output: %.2f", stage.offset)
    decision = Decision([float(b) for b in bias], stage, staged, untuned_score)
    if cfg.ventricular_stage == "none":
        return decision
    # The same again, one step on: over the supraventricular stage's shipped output (fitted
    # on every development beat: in sample for the S/N split, which barely moves V calls).
    # The look-alikes are those of the shipped V calls; the reported path's V calls (offsets
    # cross-fitted) differ from them by a few beats, which then count as having none.
    shipped = stage.apply(cnn, x)
    support = morphology_support(windows, records, stage_rows(shipped), fs, window_pre)
    x_v = ventricular_inputs(shipped, support)
    v_stage, decision.validated = _stacked(
        VentricularStage, x_v, labels, shipped, staged, records, fold_of_beat, cfg,
        VENTRICULAR_OFFSET_GRID, bag_over=bagged,
    )  # fmt: skip
    log.info("ventricular stage offset tuned on its out-of-fold output: %.2f", v_stage.offset)
    decision.ventricular_stage = v_stage
    return decision


def _stacked(
    stage_type: type[LogisticStage],
    x: np.ndarray,
    labels: np.ndarray,
    shipped: np.ndarray,
    validated: np.ndarray,
    records: np.ndarray,
    fold_of_beat: np.ndarray,
    cfg: TrainParams,
    grid: np.ndarray = STAGE_OFFSET_GRID,
    bag_over: np.ndarray | None = None,
) -> tuple[LogisticStage, np.ndarray]:
    """A stage fitted on every development beat (its offset tuned on its leave-one-record-out
    logits), and the reported out-of-fold output: `validated` through the stage, each fold
    with the offset tuned on the other folds (each offset bagged over the beats' records
    in `bag_over`, where given: calibration.chosen_candidate)."""
    logit = out_of_fold_logit(x, labels, shipped, records, cfg.second_stage_c, stage_type)
    apply = stage_type.reweigh

    def best_offset(rows: np.ndarray) -> float:
        def predicted(offset: np.ndarray) -> np.ndarray:
            return apply(shipped[rows], logit[rows] + offset[0]).argmax(1)

        candidates = grid[:, None]
        bag = None if bag_over is None else bag_over[rows]
        return float(
            chosen_candidate(candidates, predicted, labels[rows], validation_score, bag)[0]
        )

    staged = np.empty_like(validated)
    for fold in np.unique(fold_of_beat):
        held_out = fold_of_beat == fold
        staged[held_out] = apply(validated[held_out], logit[held_out] + best_offset(~held_out))
    stage = stage_type.fit(x, labels, shipped, cfg.second_stage_c)
    stage.offset = best_offset(np.ones(len(labels), dtype=bool))
    return stage, staged


NOISE_BANK_ROWS = 4096  # distinct noise stretches the training beats draw from


def training_noise_bank(
    cfg: TrainParams, preprocess: PreprocessParams, fs: float, length: int
) -> np.ndarray | None:
    """The noise that `train.ecg_noise_fraction` of the training beats get (none when 0):
    `length` samples at the model's rate; seeded from `train.seed` alone, so every member
    and fold draws from the same bank."""
    if cfg.ecg_noise_fraction <= 0:
        return None
    from arrhythmia.detection.noise import ecg_noise_bank

    rng = np.random.default_rng([cfg.seed, NOISE_BANK_ROWS])
    return ecg_noise_bank(NOISE_BANK_ROWS, length, fs / cfg.decimation, preprocess.lowpass_hz, rng)


@dataclass(frozen=True)
class DevelopmentSet:
    """The development beats as the networks train on them, and their patient-wise folds."""

    records: np.ndarray
    labels: np.ndarray  # int64
    include: np.ndarray | None  # development_template's beats
    data: TrainData
    folds: dict[str, int]  # record -> fold
    fold_of_beat: np.ndarray


def development_set(arrays: Mapping[str, np.ndarray], cfg: TrainParams) -> DevelopmentSet:
    dev = development_beats(arrays, cfg)
    records = arrays["record"][dev]
    labels = arrays["label"][dev].astype(np.int64)
    include = development_template(arrays, cfg)
    beats = prepare_beats(
        arrays["windows"][dev], records, cfg.decimation, include, cfg.neighbour_beats
    )
    data = TrainData(
        beats=beats,
        rr=rr_inputs(arrays["rr"][dev], arrays["rr_names"], cfg.rr_features),
        labels=labels,
    )
    folds = patient_folds(records, labels, cfg.folds)
    return DevelopmentSet(records, labels, include, data, folds, fold_of(records, folds))


@dataclass
class Members:
    """Every trained network (seed-major, then fold) and its training history."""

    state_dicts: list[dict]
    history: list[dict]
    best_epochs: list[int]
    oof_proba: np.ndarray  # the members' mean on each beat, from those that did not see it
    epoch_val_proba: list[np.ndarray]  # each member's every epoch on its held-out beats


def train_members(
    dev: DevelopmentSet,
    cfg: TrainParams,
    checkpoint_dir: Path,
    fingerprint: str,
    *,
    resume: bool,
    progress: bool,
) -> Members:
    """One network per fold and seed, each early-stopped on its fold's held-out records
    (or trained to its last epoch: `epoch_choice`)."""
    n_classes = len(AAMI_CLASSES)
    oof = np.zeros((len(dev.labels), n_classes), dtype=np.float32)
    members = Members([], [], [], oof, [])
    for member, seed in enumerate(member_seeds(cfg.seed, cfg.seeds)):
        member_cfg = replace(cfg, seed=seed)
        for fold in range(cfg.folds):
            val_idx = np.flatnonzero(dev.fold_of_beat == fold)
            train_idx = np.flatnonzero(dev.fold_of_beat != fold)
            log.info(
                "seed %d, fold %d: validation records %s",
                seed,
                fold,
                sorted(r for r, f in dev.folds.items() if f == fold),
            )
            result = train_fold(
                dev.data,
                train_idx,
                val_idx,
                member_cfg,
                fold=fold,
                n_classes=n_classes,
                checkpoint=checkpoint_dir / checkpoint_name(member, fold),
                fingerprint=fingerprint,
                resume=resume,
                progress=progress,
            )
            # The kept epoch's held-out output, kept from its validation step (not
            # recomputed); the members' mean, as the shipped ensemble averages them
            members.oof_proba[val_idx] += result.val_proba / cfg.seeds
            members.state_dicts.append(result.state_dict)
            members.history.extend({"member": member, **row} for row in result.history)
            members.best_epochs.append(result.best_epoch)
            members.epoch_val_proba.append(result.epoch_val_proba)
    return members


def train_development(
    arrays: Mapping[str, np.ndarray],
    cfg: TrainParams,
    preprocess: PreprocessParams,
    checkpoint_dir: Path,
    *,
    resume: bool = False,
    progress: bool = True,
) -> tuple[DevelopmentSet, Members]:
    """Every network of the ensemble, trained on the development set (or taken from the
    finished checkpoints in `checkpoint_dir` with `resume`)."""
    seed_everything(cfg.seed, cfg.threads)
    dev = development_set(arrays, cfg)
    cropped = dev.data.beats.shape[-1] - 2 * cfg.max_shift
    bank = training_noise_bank(cfg, preprocess, float(arrays["fs"]), cropped)
    dev = replace(dev, data=replace(dev.data, noise_bank=bank))
    fingerprint = params_fingerprint(
        cfg, {"n_beats": int(len(dev.labels)), "preprocess": asdict(preprocess)}
    )
    if not resume and checkpoint_dir.exists():
        shutil.rmtree(checkpoint_dir)  # a fresh run must not pick up an old one's epochs
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    members = train_members(dev, cfg, checkpoint_dir, fingerprint, resume=resume, progress=progress)
    return dev, members


def train_ensemble(
    arrays: Mapping[str, np.ndarray],
    cfg: TrainParams,
    preprocess: PreprocessParams,
    checkpoint_dir: Path,
    *,
    resume: bool = False,
    progress: bool = True,
) -> tuple[BeatClassifier, TrainingReport]:
    dev, members = train_development(
        arrays, cfg, preprocess, checkpoint_dir, resume=resume, progress=progress
    )
    decision = decide(arrays, members.oof_proba, cfg, dev.fold_of_beat, dev.include)
    predicted = decision.validated.argmax(axis=1)
    report = TrainingReport(
        folds=dev.folds,
        history=members.history,
        best_epochs=members.best_epochs,
        val_metrics=evaluate_predictions(dev.labels, predicted),
        val_score=validation_score(dev.labels, predicted),
        val_score_untuned=decision.untuned_score,
        oof_proba=members.oof_proba,
        fold_of_beat=dev.fold_of_beat,
        epoch_val_proba=members.epoch_val_proba,
    )
    return shipped_classifier(arrays, cfg, preprocess, dev.data, members, decision), report


def shipped_classifier(
    arrays: Mapping[str, np.ndarray],
    cfg: TrainParams,
    preprocess: PreprocessParams,
    data: TrainData,
    members: Members,
    decision: Decision,
) -> BeatClassifier:
    """The bundle: every member's weights, the input recipe and the decision layer."""
    return BeatClassifier(
        config=model_config(cfg, data, len(AAMI_CLASSES)),
        state_dicts=members.state_dicts,
        rr_features=tuple(cfg.rr_features),
        decimation=cfg.decimation,
        crop_margin=cfg.max_shift,
        fs=float(arrays["fs"]),
        window_pre=int(arrays["window_pre"]),
        window_length=int(arrays["window_length"]),
        preprocess=asdict(preprocess),
        logit_bias=decision.cnn_bias,
        template_rule=cfg.template_beats,
        template_min_ratio=cfg.template_min_ratio,
        neighbours=cfg.neighbour_beats,
        second_stage=None if decision.stage is None else asdict(decision.stage),
        ventricular_stage=(
            None if decision.ventricular_stage is None else asdict(decision.ventricular_stage)
        ),
    )
