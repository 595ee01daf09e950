"""Matplotlib figures as inline SVG for the report: drawn on an Agg-backed Figure (no pyplot
state, safe in headless workers), with the date left out and a fixed hash salt so the same
diagnosis gives the same bytes."""

from __future__ import annotations

import io

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

MM_PER_INCH = 25.4
RASTER_DPI = 150  # for the artists drawn as images (beat marks of long records)


def new_figure(width_mm: float, height_mm: float, **kwargs) -> Figure:
    """A figure of exactly this size: on screen and on paper a millimetre is a millimetre."""
    fig = Figure(figsize=(width_mm / MM_PER_INCH, height_mm / MM_PER_INCH), **kwargs)
    FigureCanvasAgg(fig)
    return fig


def figure_svg(fig: Figure) -> str:
    """The figure as an <svg> element to paste into HTML (the XML prologue dropped)."""
    buffer = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": "arrhythmia-holter", "svg.fonttype": "path"}):
        fig.savefig(buffer, format="svg", dpi=RASTER_DPI, metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]
