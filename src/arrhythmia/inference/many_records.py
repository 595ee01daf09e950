"""Many records diagnosed in one go (`arrhythmia predict` over a folder of strips): short
records are read a group at a time and their beats classified in one call of the networks,
which for a 10-s strip costs less than a call of its own. Each record gets the diagnosis it
would get alone, and a record that fails is reported in its place without stopping the
others."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from arrhythmia.detection.model import QrsDetector
from arrhythmia.inference.diagnose import Diagnosis
from arrhythmia.inference.model_handle import ModelHandle
from arrhythmia.inference.predict import (
    PreparedRecord,
    diagnose_one,
    diagnose_prepared,
    prepare_record,
)
from arrhythmia.signal.ecg import EcgRecord

log = logging.getLogger(__name__)

# Signal values (samples x leads) read before the group's beats are classified together:
# about 200 strips of 30 s at 300 Hz. A longer record closes the group it joins.
SAMPLES_AT_ONCE = 2_000_000

T = TypeVar("T")
Outcome = tuple[EcgRecord, Diagnosis] | Exception


def read_and_diagnose_many(
    record_paths: Iterable[str | Path],
    model: ModelHandle,
    detector: QrsDetector | None,
    *,
    beats_from: str | None = None,
    lead: str | None = None,
    fs: float | None = None,
) -> Iterator[tuple[str | Path, Outcome]]:
    """:func:`~arrhythmia.inference.predict.read_and_diagnose` of each record, in order:
    each with the record as read and its diagnosis, or the exception that stopped it."""
    group: list[tuple[str | Path, PreparedRecord | Exception]] = []
    size = 0
    for path in record_paths:
        prepared = caught(prepare_record, path, detector, beats_from=beats_from, lead=lead, fs=fs)
        if isinstance(prepared, PreparedRecord):
            size += prepared.ecg.signal.size
        group.append((path, prepared))
        del prepared  # a day-long signal must not outlive its group
        if size >= SAMPLES_AT_ONCE:
            yield from _diagnosed_group(group, model, detector, beats_from)
            group, size = [], 0
    yield from _diagnosed_group(group, model, detector, beats_from)


def _diagnosed_group(
    group: list[tuple[str | Path, PreparedRecord | Exception]],
    model: ModelHandle,
    detector: QrsDetector | None,
    beats_from: str | None,
) -> Iterator[tuple[str | Path, Outcome]]:
    ready = [prepared for _, prepared in group if isinstance(prepared, PreparedRecord)]
    try:
        diagnoses = diagnose_prepared(ready, model, detector, beats_from)
    except Exception:  # one record at a time, so that only the culprit fails
        log.warning("%d records diagnosed together failed; one at a time now", len(ready),
                    exc_info=True)  # fmt: skip
        diagnoses = [caught(_alone, p, model, detector, beats_from) for p in ready]
    outcomes = iter(zip(ready, diagnoses, strict=True))
    for path, prepared in group:
        if isinstance(prepared, PreparedRecord):
            record, diagnosis = next(outcomes)
            yield path, diagnosis if isinstance(diagnosis, Exception) else (record.ecg, diagnosis)
        else:
            yield path, prepared


def _alone(prepared: PreparedRecord, model, detector, beats_from) -> Diagnosis:
    return diagnose_one(prepared, model, detector, beats_from)[1]


def caught(function: Callable[..., T], *args, **kwargs) -> T | Exception:
    """`function`'s result, or the exception it raised, its frames' variables released (a
    stored error must not keep the signal it was raised over)."""
    try:
        return function(*args, **kwargs)
    except Exception as error:  # reported per record by the caller
        traceback.clear_frames(error.__traceback__)
        return error
