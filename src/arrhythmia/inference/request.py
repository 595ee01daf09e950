"""A raw ECG sent to the served model (samples x leads, mV, with its sampling rate), checked
before anything is computed: every way a request can be unusable is one `RecordError`
whose message says what is wrong and what is expected. Its sampling rate and length meet
the bounds a file meets (data/checks.py); what only a request can get wrong (its shape,
lead names, fs missing, over a day) is a `RequestError`.

A stretch of NaN or a constant value inside an otherwise usable signal is not an error: it
is read as leads off and becomes an unreadable (NOISE) episode, as in `arrhythmia predict`.
"""

from __future__ import annotations

import numpy as np

from arrhythmia.data.checks import RecordError, check_rate_and_length
from arrhythmia.data.wfdb_io import fill_nan
from arrhythmia.signal.ecg import EcgRecord

MAX_SECONDS = 24 * 3600.0  # a Holter day; longer requests belong in `arrhythmia predict`
MAX_LEADS = 16  # more columns than any ECG has leads: the array is probably transposed
REQUEST_RECORD = "request"  # the record name a request's diagnosis carries


class RequestError(RecordError, ValueError):
    """The request cannot be diagnosed; the message says why."""


def sampling_rate(fs) -> float:
    """The request's `fs` param as a float (its range is checked with the signal's length)."""
    if fs is None:
        raise RequestError(
            'params.fs is required: the sampling rate in Hz, as in {"params": {"fs": 360}}'
        )
    try:
        return float(fs)
    except (TypeError, ValueError):
        raise RequestError(f"params.fs must be a number of Hz, got {fs!r}") from None


def lead_names(leads, n_leads: int) -> tuple[str, ...]:
    """The request's lead names, or lead0, lead1, ... when it names none."""
    if leads is None or len(leads) == 0:
        return tuple(f"lead{i}" for i in range(n_leads))
    names = tuple(str(name) for name in leads)
    if len(names) != n_leads:
        raise RequestError(
            f"params.leads names {len(names)} leads ({list(names)}) but inputs.ecg has "
            f"{n_leads} columns: one name per column"
        )
    if len(set(names)) != len(names):
        raise RequestError(f"params.leads repeats a name: {list(names)}")
    return names


def _signal_array(ecg) -> np.ndarray:
    try:
        signal = np.asarray(ecg, dtype=np.float32)
    except (TypeError, ValueError):
        raise RequestError("inputs.ecg must be a samples x leads array of numbers (mV)") from None
    if signal.ndim != 2:
        raise RequestError(
            f"inputs.ecg must be samples x leads (2-D, one column per lead, even for one "
            f"lead), got a {signal.ndim}-D array of shape {signal.shape}"
        )
    if signal.shape[1] == 0:
        raise RequestError("inputs.ecg has no leads (0 columns)")
    if signal.shape[1] > MAX_LEADS:
        raise RequestError(
            f"inputs.ecg has {signal.shape[1]} columns and {signal.shape[0]} rows: it must be "
            f"samples x leads (at most {MAX_LEADS} leads); is it leads x samples?"
        )
    return signal


def _check_at_most_a_day(n_samples: int, fs: float) -> None:
    seconds = n_samples / fs
    if seconds > MAX_SECONDS:
        raise RequestError(
            f"inputs.ecg holds {seconds / 3600:.1f} h at {fs:g} Hz; at most "
            f"{MAX_SECONDS / 3600:g} h per request (diagnose longer recordings with "
            "`arrhythmia predict`)"
        )


def ecg_from_request(ecg, fs, leads=None) -> EcgRecord:
    """The request as an EcgRecord (float32, NaN-free, its leads in the order sent), or a
    RecordError saying why it cannot be diagnosed. Which lead is read first is the
    diagnosis's choice, as for a file (inference/leads.py)."""
    fs = sampling_rate(fs)
    signal = _signal_array(ecg)
    names = lead_names(leads, signal.shape[1])
    check_rate_and_length(REQUEST_RECORD, fs, len(signal))
    _check_at_most_a_day(len(signal), fs)
    return EcgRecord(REQUEST_RECORD, fs, fill_nan(signal), names)


def request_body(ecg: EcgRecord, start_s: float = 0.0, seconds: float | None = None) -> dict:
    """The JSON body for the served model from part of a record: `seconds` from `start_s`
    (the whole record by default), values in mV rounded to the microvolt."""
    first = int(round(start_s * ecg.fs))
    last = len(ecg.signal) if seconds is None else first + int(round(seconds * ecg.fs))
    part = np.round(ecg.signal[first:last].astype(np.float64), 3)
    return {
        "inputs": {"ecg": part.tolist()},
        "params": {"fs": float(ecg.fs), "leads": list(ecg.leads)},
    }
