"""Which lead is read first, for a file and a request alike: the one asked for (MLII, else
II, else the first by default) unless it is dead from start to end; then the most readable
one. A signal with no readable lead is refused. Quality is judged once for both uses."""

import numpy as np
import pytest
import wfdb

from arrhythmia.data.checks import RecordError
from arrhythmia.inference.leads import read_lead_first
from arrhythmia.signal.ecg import EcgRecord
from arrhythmia.signal.quality import assess_quality

FS = 360.0


@pytest.fixture
def signal(excerpt_dir) -> np.ndarray:
    return wfdb.rdrecord(str(excerpt_dir / "100")).p_signal.astype(np.float32)  # MLII, V5


def _first(signal: np.ndarray, leads: tuple[str, ...], lead: str | None = None) -> EcgRecord:
    ecg = EcgRecord("r", FS, signal, leads)
    return read_lead_first(ecg, assess_quality(ecg.signal, ecg.fs), lead)


def test_the_preferred_lead_comes_first_and_a_record_in_order_is_not_copied(signal):
    ecg = EcgRecord("r", FS, signal, ("MLII", "V5"))
    assert read_lead_first(ecg, assess_quality(signal, FS)) is ecg
    swapped = _first(signal[:, ::-1].copy(), ("V5", "MLII"))
    assert swapped.leads == ("MLII", "V5")
    np.testing.assert_array_equal(swapped.signal, signal)
    assert _first(signal, ("V1", "II")).leads == ("II", "V1")
    assert _first(signal, ("V1", "V2")).leads == ("V1", "V2")


def test_a_lead_asked_for_comes_first_and_an_unknown_one_is_refused(signal):
    assert _first(signal, ("MLII", "V5"), lead="V5").leads == ("V5", "MLII")
    with pytest.raises(RecordError, match=r"no lead named 'V9' \(leads: \['MLII', 'V5'\]\)"):
        _first(signal, ("MLII", "V5"), lead="V9")


@pytest.mark.parametrize("dead", [np.nan, 0.0])
def test_a_dead_preferred_lead_is_not_read_first(signal, dead):
    """A disconnected MLII beside a good V5: beats are placed and classified on V5."""
    three = np.column_stack([signal[:, 1], signal[:, 0], signal[:, 1]])
    three[:, 1] = dead
    three[:, 2] *= 0.5
    ecg = _first(three, ("V5", "MLII", "V1"))
    assert ecg.leads == ("V5", "MLII", "V1")  # MLII would come first; the most readable goes before
    ecg = _first(three[:, [1, 2, 0]], ("MLII", "V1", "V5"))
    assert ecg.leads == ("V1", "MLII", "V5")  # the first of the most readable, the rest in order
    np.testing.assert_array_equal(ecg.signal[:, 0], three[:, 2])


def test_a_lead_dead_only_in_part_stays_first(signal):
    part = signal.copy()
    part[: int(20 * FS), 0] = 0.0
    assert _first(part, ("MLII", "V5")).leads == ("MLII", "V5")


@pytest.mark.parametrize("value", [0.0, 0.7, np.nan])
def test_no_readable_lead_is_refused(signal, value):
    with pytest.raises(RecordError, match="no readable signal: every lead is flat or missing"):
        _first(np.full_like(signal, value), ("MLII", "V5"))


def test_each_leads_readable_share_is_its_own_quality_judged_alone(signal):
    """One judgement of the whole record gives each lead's share as judging it alone would."""
    mixed = signal.copy()
    mixed[: int(7 * FS), 0] = 0.0
    mixed[int(3 * FS) :, 1] = np.nan
    shares = assess_quality(mixed, FS).readable_shares()
    for lead, share in enumerate(shares):
        alone = assess_quality(mixed[:, lead : lead + 1], FS)
        lost = sum(end - start for start, end in alone.unreadable)
        assert share == 1.0 - lost / len(mixed)
    assert 0.0 < shares[1] < shares[0] < 1.0


def test_the_quality_follows_the_leads_into_their_new_order(signal, caplog):
    from arrhythmia.inference.leads import lead_first

    signal = signal.copy()
    signal[:, 0] = 0.0  # MLII dead throughout, V5 good
    ecg = EcgRecord("r", FS, signal, ("MLII", "V5"))
    quality = assess_quality(signal, FS)
    assert quality.readable_shares() == [0.0, 1.0]
    with caplog.at_level("WARNING"):
        first, moved = lead_first(ecg, quality, lead="MLII")
    assert first.leads == ("V5", "MLII") and moved.readable_shares() == [1.0, 0.0]
    assert moved.unreadable == quality.unreadable
    assert "lead MLII is dead throughout; reading V5 first" in caplog.text
