"""How numbers and times read on the page: clock times from the record's start, durations,
counts and rates, with a dash where a value is unknown, so no "nan" ever shows."""

from __future__ import annotations

import math

UNKNOWN = "\u2014"  # an em dash


def _known(value) -> bool:
    return value is not None and math.isfinite(float(value))


def clock(seconds: float, *, decimals: int = 0) -> str:
    """h:mm:ss from the record's start (tenths with decimals=1)."""
    if not _known(seconds):
        return UNKNOWN
    scale = 10**decimals
    ticks = int(round(max(float(seconds), 0.0) * scale))
    whole, fraction = divmod(ticks, scale)
    hours, rest = divmod(whole, 3600)
    text = f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"{text}.{fraction:0{decimals}d}" if decimals else text


def duration(seconds: float) -> str:
    """A short span in seconds ("4.2 s"), a longer one as h:mm:ss."""
    if not _known(seconds):
        return UNKNOWN
    return f"{float(seconds):.1f} s" if seconds < 60 else clock(seconds)


def number(value, unit: str = "", decimals: int = 0) -> str:
    if not _known(value):
        return UNKNOWN
    text = f"{float(value):,.{decimals}f}"
    return f"{text} {unit}" if unit else text


def percent(part: float, whole: float) -> str:
    if not (_known(part) and _known(whole)) or whole <= 0:
        return UNKNOWN
    share = 100.0 * part / whole
    return "<0.1 %" if 0 < share < 0.1 else f"{share:.1f} %"
