"""What any ECG must be before it is diagnosed, a file's or a served request's: a plausible
sampling rate and enough signal. One set of bounds, one wording, one error."""

from __future__ import annotations

import math

from arrhythmia.errors import ArrhythmiaError

MIN_FS, MAX_FS = 50.0, 10_000.0  # outside this a sampling rate is a mistake, not an ECG's
MIN_SECONDS = 10.0  # shorter than this there is no rhythm to speak of


class RecordError(ArrhythmiaError):
    """The record, its beat source or the chosen lead cannot be used."""


def check_rate_and_length(source: str, fs: float, n_samples: int) -> None:
    """A plausible sampling rate and at least MIN_SECONDS of signal, checked before any
    sample is decoded; `source` names what is checked in the message."""
    if not (math.isfinite(fs) and MIN_FS <= fs <= MAX_FS):
        raise RecordError(
            f"{source}: sampling rate {fs:g} Hz is out of range: an ECG is sampled at "
            f"{MIN_FS:g} to {MAX_FS:g} Hz"
        )
    seconds = n_samples / fs
    if seconds < MIN_SECONDS:
        raise RecordError(
            f"{source}: {seconds:.1f} s of signal ({n_samples} samples at {fs:g} Hz); at "
            f"least {MIN_SECONDS:g} s are needed"
        )
