"""The checks on a raw-ECG request, before any work: each unusable request is one
RecordError that says why (worded as for a file where a file can be wrong the same way); a
usable one becomes an EcgRecord with its leads as sent. Which lead is read first, and the
refusal of a request with no readable lead, are the diagnosis's (tests/inference/test_leads.py)."""

import numpy as np
import pytest
import wfdb

from arrhythmia.data.checks import RecordError
from arrhythmia.inference.request import RequestError, ecg_from_request, request_body
from arrhythmia.signal.ecg import EcgRecord

FS = 360.0


@pytest.fixture
def signal(excerpt_dir) -> np.ndarray:
    return wfdb.rdrecord(str(excerpt_dir / "100")).p_signal.astype(np.float32)


def test_a_good_request_keeps_its_leads_as_sent_and_fills_gaps(signal):
    signal = signal[:, ::-1].copy()
    signal[100:200, 1] = np.nan
    ecg = ecg_from_request(signal, 360, ["V5", "MLII"])
    assert ecg.leads == ("V5", "MLII") and ecg.fs == FS and ecg.name == "request"
    assert np.isfinite(ecg.signal).all() and ecg.signal.dtype == np.float32


def test_without_names_the_leads_are_numbered_and_one_lead_is_enough(signal):
    assert ecg_from_request(signal, FS).leads == ("lead0", "lead1")
    assert ecg_from_request(signal[:, :1], FS).leads == ("lead0",)


@pytest.mark.parametrize(
    ("fs", "says"),
    [(None, "fs is required"), (10, "out of range"), (2e4, "out of range"),
     (float("nan"), "out of range"), ("x", "must be a number")],
)  # fmt: skip
def test_a_bad_rate_is_refused(signal, fs, says):
    with pytest.raises(RecordError, match=says):
        ecg_from_request(signal, fs)


def test_bad_shapes_and_lengths_are_refused(signal):
    cases = [
        (signal[:, 0], "2-D"),
        (signal.T, "leads x samples"),
        (signal[None], "2-D"),
        (signal[:, :0], "no leads"),
        (signal[: int(9 * FS)], "at least 10 s"),
        ([[1.0, 2.0], [3.0]], "array of numbers"),
    ]
    for ecg, says in cases:
        with pytest.raises(RecordError, match=says):
            ecg_from_request(ecg, FS)
    with pytest.raises(RequestError, match="one name per column"):
        ecg_from_request(signal, FS, ["MLII"])
    with pytest.raises(RequestError, match="repeats"):
        ecg_from_request(signal, FS, ["MLII", "MLII"])


def test_rate_and_length_are_worded_as_for_a_file(signal):
    with pytest.raises(RecordError, match=r"^request: sampling rate 20 Hz is out of range: "
                       r"an ECG is sampled at 50 to 10000 Hz$"):  # fmt: skip
        ecg_from_request(signal, 20)
    with pytest.raises(RecordError, match=r"^request: 9\.0 s of signal \(3240 samples at "
                       r"360 Hz\); at least 10 s are needed$"):  # fmt: skip
        ecg_from_request(signal[: int(9 * FS)], FS)


def test_over_a_day_is_refused_before_any_work():
    day = np.zeros((int(24 * 3600 * 50) + 50, 1), dtype=np.float32)
    with pytest.raises(RequestError, match="at most 24 h"):
        ecg_from_request(day, 50.0)


def test_request_body_is_what_the_server_takes(signal):
    record = EcgRecord("100", FS, signal, ("MLII", "V5"))
    body = request_body(record, start_s=1.0, seconds=12.0)
    assert body["params"] == {"fs": FS, "leads": ["MLII", "V5"]}
    ecg = np.asarray(body["inputs"]["ecg"])
    assert ecg.shape == (int(12 * FS), 2)
    np.testing.assert_allclose(ecg, signal[int(FS) : int(13 * FS)], atol=5e-4)
