"""What both validation stages do with an outcome: stop the pipeline on a failure, log a pass."""

from __future__ import annotations

from prefect import get_run_logger

from arrhythmia.validation.gx_runner import ValidationFailed, ValidationOutcome


def gate(outcome: ValidationOutcome) -> ValidationOutcome:
    """Log the readable summary; a failed expectation stops the pipeline here."""
    if not outcome.success:
        raise ValidationFailed(outcome.summary())
    get_run_logger().info(outcome.summary())
    return outcome
