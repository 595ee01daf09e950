"""Train one CNN per patient-wise fold of DS1 and ship their average.

Every DS1 beat gets an out-of-fold prediction from the model that did not see its record;
those predictions are the DS1-validation metrics used to select and gate models. DS2 is
never touched here.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from arrhythmia.config import PreprocessParams, TrainParams
from arrhythmia.data.aami import AAMI_CLASSES
from arrhythmia.evaluation.ec57 import evaluate_predictions
from arrhythmia.models.bundle import BeatClassifier, ensemble_proba, prepare_beats
from arrhythmia.models.cnn import BeatCNN
from arrhythmia.models.inputs import rr_inputs, template_beats
from arrhythmia.training.calibration import cross_fitted_bias, tune_bias
from arrhythmia.training.folds import patient_folds
from arrhythmia.training.loop import (
    TrainData,
    centre_crop,
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


def train_ensemble(
    arrays: Mapping[str, np.ndarray],
    cfg: TrainParams,
    preprocess: PreprocessParams,
    checkpoint_dir: Path,
    *,
    resume: bool = False,
    progress: bool = True,
) -> tuple[BeatClassifier, TrainingReport]:
    seed_everything(cfg.seed, cfg.threads)
    ds1 = arrays["split"] == "DS1"
    records = arrays["record"][ds1]
    labels = arrays["label"][ds1].astype(np.int64)
    include = template_beats(
        arrays["rr"][ds1], arrays["rr_names"], cfg.template_beats, cfg.template_min_ratio
    )
    data = TrainData(
        beats=prepare_beats(arrays["windows"][ds1], records, cfg.decimation, include),
        rr=rr_inputs(arrays["rr"][ds1], arrays["rr_names"], cfg.rr_features),
        labels=labels,
    )
    folds = patient_folds(records, labels, cfg.folds)
    fingerprint = params_fingerprint(
        cfg, {"n_beats": int(len(labels)), "preprocess": asdict(preprocess)}
    )
    if not resume and checkpoint_dir.exists():
        shutil.rmtree(checkpoint_dir)  # a fresh run must not pick up an old one's epochs
    checkpoint_dir.mkdir(parents=True, exist_ok=True)

    n_classes = len(AAMI_CLASSES)
    oof = np.zeros((len(labels), n_classes), dtype=np.float32)
    state_dicts, history, best_epochs = [], [], []
    fold_of_beat = np.array([folds[r] for r in records])
    for fold in range(cfg.folds):
        val_idx = np.flatnonzero(fold_of_beat == fold)
        train_idx = np.flatnonzero(fold_of_beat != fold)
        log.info(
            "fold %d: validation records %s",
            fold, sorted(r for r, f in folds.items() if f == fold),
        )  # fmt: skip
        result = train_fold(
            data, train_idx, val_idx, cfg,
            fold=fold, n_classes=n_classes, checkpoint=checkpoint_dir / f"fold{fold}.pt",
            fingerprint=fingerprint, resume=resume, progress=progress,
        )  # fmt: skip
        model = BeatCNN(model_config(cfg, data, n_classes))
        model.load_state_dict(result.state_dict)
        model.eval()
        oof[val_idx] = ensemble_proba(
            [model], centre_crop(data.beats[val_idx], cfg.max_shift), data.rr[val_idx],
            [0.0] * n_classes,
        )  # fmt: skip
        state_dicts.append(result.state_dict)
        history.extend(result.history)
        best_epochs.append(result.best_epoch)

    bias, validated = np.zeros(n_classes), oof
    untuned_score = validation_score(labels, oof.argmax(axis=1))
    if cfg.tune_bias:
        grid = np.round(np.arange(-2.0, 3.01, 0.25), 2)
        # Shipped offsets: tuned on all of DS1's out-of-fold predictions. Reported figures:
        # each fold scored with offsets tuned on the other folds only.
        bias, _ = tune_bias(oof, labels, validation_score, grid)
        validated = cross_fitted_bias(oof, labels, fold_of_beat, validation_score, grid)
        log.info("decision offsets tuned on DS1 out-of-fold predictions: %s",
                 dict(zip(AAMI_CLASSES, bias.round(2), strict=True)))  # fmt: skip
    predicted = validated.argmax(axis=1)
    classifier = BeatClassifier(
        config=model_config(cfg, data, n_classes),
        state_dicts=state_dicts,
        rr_features=tuple(cfg.rr_features),
        decimation=cfg.decimation,
        crop_margin=cfg.max_shift,
        fs=float(arrays["fs"]),
        window_pre=int(arrays["window_pre"]),
        window_length=int(arrays["window_length"]),
        preprocess=asdict(preprocess),
        logit_bias=[float(b) for b in bias],
        template_rule=cfg.template_beats,
        template_min_ratio=cfg.template_min_ratio,
    )
    report = TrainingReport(
        folds=folds,
        history=history,
        best_epochs=best_epochs,
        val_metrics=evaluate_predictions(labels, predicted),
        val_score=validation_score(labels, predicted),
        val_score_untuned=untuned_score,
    )
    return classifier, report
