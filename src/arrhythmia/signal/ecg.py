"""An ECG in memory (samples x leads, physical units) and the lead conventions the model uses."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

N_LEADS = 2  # the model reads two leads; a one-lead record has its lead duplicated
PREFERRED_LEADS: tuple[str, ...] = ("MLII", "II")


@dataclass(frozen=True)
class EcgRecord:
    name: str
    fs: float
    signal: np.ndarray  # (n_samples, n_leads), physical units (mV)
    leads: tuple[str, ...]


def primary_lead_first(
    record: EcgRecord, preferred: tuple[str, ...] = PREFERRED_LEADS
) -> EcgRecord:
    """Reorder leads so that a limb lead (MLII, else II) comes first; else keep the first signal."""
    for name in preferred:
        if name in record.leads:
            first = record.leads.index(name)
            if first == 0:
                return record  # already first: no copy of a long record
            order = [first] + [i for i in range(len(record.leads)) if i != first]
            return replace(
                record, signal=record.signal[:, order], leads=tuple(record.leads[i] for i in order)
            )
    return record
