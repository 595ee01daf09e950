"""Which lead beats are found and classified on, for a file and a served request alike: the
lead asked for (by default MLII, else II, else the first), unless it cannot be read
anywhere; then the most readable lead, so that beats are never placed on a dead lead."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from arrhythmia.data.checks import RecordError
from arrhythmia.signal.ecg import PREFERRED_LEADS, EcgRecord
from arrhythmia.signal.quality import SignalQuality

log = logging.getLogger(__name__)


def _first_asked(ecg: EcgRecord, lead: str | None) -> int:
    if lead is not None:
        if lead not in ecg.leads:
            raise RecordError(
                f"record {ecg.name}: no lead named {lead!r} (leads: {list(ecg.leads)})"
            )
        return ecg.leads.index(lead)
    preferred = [ecg.leads.index(name) for name in PREFERRED_LEADS if name in ecg.leads]
    return preferred[0] if preferred else 0


def _to_front(order: list[int], position: int) -> list[int]:
    return [order[position]] + order[:position] + order[position + 1 :]


def read_lead_first(ecg: EcgRecord, quality: SignalQuality, lead: str | None = None) -> EcgRecord:
    """`ecg` with the lead to read first (`quality` judged on `ecg` as given); the other
    leads keep their order behind the one asked for. A record with no readable lead at all
    is refused: there is nothing to diagnose."""
    return lead_first(ecg, quality, lead)[0]


def lead_first(
    ecg: EcgRecord, quality: SignalQuality, lead: str | None = None
) -> tuple[EcgRecord, SignalQuality]:
    """:func:`read_lead_first`, with `quality`'s per-lead judgement in the new lead order."""
    shares = quality.readable_shares()
    if max(shares, default=0.0) == 0.0:
        raise RecordError(
            f"record {ecg.name}: no readable signal: every lead is flat or missing (NaN), or "
            "clipped or pure noise, from start to end"
        )
    order = _to_front(list(range(len(ecg.leads))), _first_asked(ecg, lead))
    if shares[order[0]] == 0.0:  # dead throughout: the most readable lead goes before it
        if lead is not None:
            chosen = ecg.leads[int(np.argmax(shares))]
            log.warning("%s: lead %s is dead throughout; reading %s first", ecg.name, lead, chosen)
        order = _to_front(order, int(np.argmax([shares[i] for i in order])))
    if order == sorted(order):
        return ecg, quality  # already first: no copy of a long record
    leads = tuple(ecg.leads[i] for i in order)
    usable = quality.lead_usable[:, order] if quality.lead_usable.size else quality.lead_usable
    return EcgRecord(ecg.name, ecg.fs, ecg.signal[:, order], leads), replace(
        quality, lead_usable=usable
    )
