"""Reports a person reads: the Holter-style HTML page of one diagnosed record."""

from arrhythmia.reporting.holter import render_holter

__all__ = ["render_holter"]
