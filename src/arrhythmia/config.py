"""Typed, frozen view of params.yaml: parsed once, checked at start-up."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from arrhythmia.errors import ArrhythmiaError, first_line

DEFAULT_PARAMS_PATH = Path("params.yaml")


class ConfigError(ArrhythmiaError, ValueError):
    """params.yaml is missing a key, has an unknown one, or a value of the wrong type."""


@dataclass(frozen=True)
class PathParams:
    """Where every stage reads and writes; dvc.yaml takes the same paths from params.yaml."""

    raw_dir: str
    svdb_raw_dir: str
    cinc2017_raw_dir: str  # CinC 2017 strips: the learnt strip AF call learns from them
    vfdb_raw_dir: str  # VFDB and CUDB: rhythm development data (ventricular tachyarrhythmias)
    cudb_raw_dir: str
    raw_passed: str  # deterministic record of a passed raw validation (later stages' dep)
    dataset: str
    dataset_passed: str
    class_counts: str
    validation_reports: str  # GX Data Docs (HTML, timestamps): not a dependency of anything
    model: str
    qrs_detector: str  # the QRS candidate classifier (plain arrays, no pickle)
    detector_metrics: str
    mlflow_run: str
    checkpoints: str
    train_metrics: str
    train_reports: str
    ds2_metrics: str
    ds2_end_to_end: str  # the whole path on raw DS2 records: detection, classes, rhythm
    evaluate_reports: str
    register_metrics: str


@dataclass(frozen=True)
class RecordSubsetParams:
    """A smoke run's records: a few of each list (arrhythmia.data.records.RecordSelection)."""

    ds1: list[str]
    ds2: list[str]
    svdb: list[str]
    cinc2017: list[str]  # CinC 2017 strip names
    vfdb: list[str]
    cudb: list[str]


@dataclass(frozen=True)
class DataParams:
    source_url: str  # MITDB
    svdb_source_url: str
    cinc2017_source_url: str  # PhysioNet's challenge-2017 training folder
    vfdb_source_url: str
    cudb_source_url: str
    download_retries: int
    retry_backoff_s: float
    subset: RecordSubsetParams | None  # null: every record (the protocol)


@dataclass(frozen=True)
class PreprocessParams:
    highpass_hz: float
    lowpass_hz: float
    powerline_hz: float
    notch_quality: float
    filter_order: int
    window_pre_s: float
    window_post_s: float
    local_rr_beats: int
    sinus_rr_beats: int
    max_rr_s: float


@dataclass(frozen=True)
class ValidateDatasetParams:
    expected_counts: dict[str, dict[str, int]]
    relative_tolerance: float
    absolute_tolerance: int
    rr_min_s: float
    rr_max_s: float


IMBALANCE_STRATEGIES = ("weighted_loss", "focal_loss", "balanced_sampler")


@dataclass(frozen=True)
class TrainDetectorParams:
    seed: int
    max_iter: int
    learning_rate: float
    max_leaf_nodes: int
    noise_snr_db: list[float]
    noise_seed: int


SECOND_STAGES = ("none", "supraventricular")
VENTRICULAR_STAGES = ("none", "support")
EPOCH_CHOICES = ("best", "last")  # which epoch of a network ships (training.loop)
OFFSET_CHOICES = ("best", "bagged")  # how decision offsets are chosen (training.calibration)


TRAINING_SETS = ("DS1", "SVDB")
# how each record's template beat is made (arrhythmia.models.inputs.template_beats)
TEMPLATE_RULES = ("all", "non_premature", "sinus_cluster")  # never DS2: the test set


@dataclass(frozen=True)
class TrainParams:
    training_sets: list[str]  # the splits of the development set
    seed: int
    threads: int
    folds: int
    seeds: int  # members per fold, each from its own seed: the shipped model averages all
    max_epochs: int
    patience: int
    batch_size: int
    normal_fraction: float  # share of the N beats each epoch trains on (fresh draw each epoch)
    learning_rate: float
    weight_decay: float
    imbalance: str
    class_weight_power: float
    focal_gamma: float
    rr_features: list[str]
    decimation: int
    max_shift: int
    amplitude_jitter: float
    noise_std: float
    ecg_noise_fraction: float  # share of training beats given electrode-motion and muscle noise
    ecg_noise_snr_db: list[float]  # its signal-to-noise ratio, drawn uniformly in [low, high]
    widths: list[int]
    kernel_size: int
    rr_hidden: int
    hidden: int
    dropout: float
    template_beats: str
    template_min_ratio: float
    neighbour_beats: bool  # the previous and next beat's windows are input channels too
    tune_bias: bool
    second_stage: str = "none"  # none | supraventricular: arrhythmia.models.stacking
    second_stage_c: float = 0.1  # its inverse L2 strength (and the ventricular stage's)
    ventricular_stage: str = "none"  # none | support: arrhythmia.models.ventricular_stage
    # best: the epoch whose held-out score is best (early stopping, `patience`); last: every
    # network trains `max_epochs` and keeps its last epoch, nothing chosen on held-out patients
    epoch_choice: str = "best"
    # best: each decision offset maximises the development out-of-fold score; bagged: the
    # median of the offsets that maximise it on resamples of the development patients
    offset_choice: str = "best"

    def __post_init__(self):
        if self.seeds < 1:
            raise ConfigError(f"params.train.seeds: {self.seeds!r} must be at least 1")
        if self.max_epochs < 1 or self.patience < 1:
            raise ConfigError(
                f"params.train: max_epochs ({self.max_epochs!r}) and patience "
                f"({self.patience!r}) must be at least 1"
            )
        low_high = self.ecg_noise_snr_db
        if (
            not 0.0 <= self.ecg_noise_fraction <= 1.0
            or len(low_high) != 2
            or low_high[0] > low_high[1]
        ):
            raise ConfigError(
                "params.train: ecg_noise_fraction must lie in [0, 1] and ecg_noise_snr_db be "
                f"[low, high]; got {self.ecg_noise_fraction!r}, {low_high!r}"
            )
        if not 0.0 < self.normal_fraction <= 1.0:
            raise ConfigError(
                f"params.train.normal_fraction: {self.normal_fraction!r} must be in (0, 1]"
            )
        unknown = [name for name in self.training_sets if name not in TRAINING_SETS]
        if unknown or "DS1" not in self.training_sets:
            raise ConfigError(
                f"params.train.training_sets: {self.training_sets!r} must hold DS1 and may add "
                f"SVDB ({unknown or 'DS1 missing'}); DS2 is the test set"
            )
        if self.second_stage not in SECOND_STAGES:
            raise ConfigError(
                f"params.train.second_stage: {self.second_stage!r} is not one of {SECOND_STAGES}"
            )
        if self.ventricular_stage not in VENTRICULAR_STAGES:
            raise ConfigError(
                f"params.train.ventricular_stage: {self.ventricular_stage!r} is not one of "
                f"{VENTRICULAR_STAGES}"
            )
        if self.ventricular_stage != "none" and self.second_stage == "none":
            raise ConfigError(
                "params.train.ventricular_stage follows the supraventricular stage: set "
                "second_stage: supraventricular too"
            )
        if self.epoch_choice not in EPOCH_CHOICES:
            raise ConfigError(
                f"params.train.epoch_choice: {self.epoch_choice!r} is not one of {EPOCH_CHOICES}"
            )
        if self.offset_choice not in OFFSET_CHOICES:
            raise ConfigError(
                f"params.train.offset_choice: {self.offset_choice!r} is not one of {OFFSET_CHOICES}"
            )
        if self.template_beats not in TEMPLATE_RULES:
            raise ConfigError(
                f"params.train.template_beats: {self.template_beats!r} is not one of "
                f"{TEMPLATE_RULES}"
            )
        if self.imbalance not in IMBALANCE_STRATEGIES:
            raise ConfigError(
                f"params.train.imbalance: {self.imbalance!r} is not one of {IMBALANCE_STRATEGIES}"
            )


@dataclass(frozen=True)
class RegisterParams:
    model_name: str
    gate_metric: str
    greater_is_better: bool

    def __post_init__(self):
        # The gate chooses between models, so it must never see the test set.
        if self.gate_metric.lower().startswith("ds2"):
            raise ConfigError(
                f"params.register.gate_metric: {self.gate_metric!r} is a DS2 (test set) figure; "
                "gate on a development-set metric such as 'dev_val_score'"
            )


@dataclass(frozen=True)
class EvaluateParams:
    # records whose SVEB/VEB figures are also reported alone and left out of a second gross
    single_out: list[str]
    # the DS2 record whose Holter-style HTML report the stage writes, as an example
    holter_record: str


@dataclass(frozen=True)
class ScheduleParams:
    deployment_name: str
    cron: str


@dataclass(frozen=True)
class LearntCallParams:
    """Gradient-boosted trees fitted by the train stage after the beat classifier."""

    enabled: bool  # false: the bundle carries none and the rules decide alone
    folds: int  # record-wise folds for the out-of-fold figures (and a threshold, if chosen)
    seed: int
    max_iter: int
    learning_rate: float
    max_depth: int
    min_samples_leaf: int
    l2_regularization: float


@dataclass(frozen=True)
class StripAfParams(LearntCallParams):
    """The learnt AF call of short strips (arrhythmia.training.strip_af)."""


@dataclass(frozen=True)
class VentricularParams(LearntCallParams):
    """The learnt presence of VT and VF (arrhythmia.training.ventricular)."""

    threshold: float  # VT or VF where the smoothed probability is at least this
    smooth_windows: int  # the probability's running mean over this many windows


@dataclass(frozen=True)
class Params:
    paths: PathParams
    data: DataParams
    preprocess: PreprocessParams
    train_detector: TrainDetectorParams
    validate_dataset: ValidateDatasetParams
    train: TrainParams
    strip_af: StripAfParams
    ventricular: VentricularParams
    evaluate: EvaluateParams
    schedule: ScheduleParams
    register: RegisterParams


def _check_value(value: Any, annotation: Any, where: str) -> Any:
    """Coerce ints to floats where a float is wanted; reject anything else of the wrong type."""
    origin = typing.get_origin(annotation)
    if dataclasses.is_dataclass(annotation):
        return _build(annotation, value, where)
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        _, value_type = typing.get_args(annotation)
        return {k: _check_value(v, value_type, f"{where}.{k}") for k, v in value.items()}
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item_type,) = typing.get_args(annotation)
        return [_check_value(v, item_type, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        reasons = []
        for option in typing.get_args(annotation):
            try:
                return _check_value(value, option, where)
            except ConfigError as error:
                reasons.append(str(error))
        # a mapping meant one of the sections: its own reason says what is wrong in it
        sections = [dataclasses.is_dataclass(o) for o in typing.get_args(annotation)]
        if isinstance(value, dict) and any(sections):
            raise ConfigError(reasons[sections.index(True)])
        raise ConfigError(f"{where}: {value!r} does not match {annotation}")
    if annotation is type(None):
        if value is not None:
            raise ConfigError(f"{where}: expected null, got {value!r}")
        return value
    if not isinstance(value, annotation) or (isinstance(value, bool) and annotation is not bool):
        raise ConfigError(f"{where}: expected {annotation.__name__}, got {value!r}")
    return value


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    missing = [n for n in names if n not in raw]
    unknown = [k for k in raw if k not in names]
    if missing:
        raise ConfigError(f"{where}: missing key(s) {', '.join(missing)}")
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    return cls(**{n: _check_value(raw[n], hints[n], f"{where}.{n}") for n in names})


def params_from_dict(raw: dict[str, Any]) -> Params:
    """Build typed params from a parsed params.yaml (tests shrink the real one this way)."""
    return _build(Params, raw, "params")


def load_raw_params(path: str | Path = DEFAULT_PARAMS_PATH) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such params file (run from the project root)")
    try:
        with path.open() as f:
            raw = yaml.safe_load(f)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({first_line(error)})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(raw).__name__}")
    return raw


def load_params(path: str | Path = DEFAULT_PARAMS_PATH) -> Params:
    """Read and check params.yaml; fails with a clear message on a missing or mistyped key."""
    return params_from_dict(load_raw_params(path))
