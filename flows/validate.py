"""Flows `validate_raw` and `validate_dataset`: Great Expectations gates between stages."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from arrhythmia.config import load_params
from arrhythmia.data.beat_dataset import DATASET_FILE, load_dataset
from arrhythmia.data.records import ALL_RECORDS
from arrhythmia.validation.gx_runner import ValidationFailed, ValidationOutcome

REPORT_DIR = Path("reports/validation")


def _gate(outcome: ValidationOutcome) -> ValidationOutcome:
    """Log the readable summary; a failed expectation stops the pipeline here."""
    if not outcome.success:
        raise ValidationFailed(outcome.summary())
    get_run_logger().info(outcome.summary())
    return outcome


@flow(name="validate-raw")
def validate_raw_flow(params_path: str = "params.yaml") -> ValidationOutcome:
    from arrhythmia.validation.raw import validate_raw_records

    p = load_params(params_path)
    outcome = validate_raw_records(Path(p.data.raw_dir), ALL_RECORDS, REPORT_DIR / "raw")
    return _gate(outcome)


@flow(name="validate-dataset")
def validate_dataset_flow(params_path: str = "params.yaml") -> ValidationOutcome:
    from arrhythmia.validation.dataset import validate_beat_dataset

    p = load_params(params_path)
    arrays = load_dataset(Path(p.preprocess.out_dir) / DATASET_FILE)
    outcome = validate_beat_dataset(arrays, p.validate_dataset, REPORT_DIR / "dataset")
    return _gate(outcome)
