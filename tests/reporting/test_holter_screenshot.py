"""The report as a person sees it: headless Chromium renders the page of the made-up record
and the screenshot has a real picture in it, not a blank or an error page."""

import re

import numpy as np
from PIL import Image

from arrhythmia.reporting import render_holter
from tools.screenshot import rendered_dom, screenshot


def test_chromium_renders_the_report(tmp_path, made_up, chromium):
    d, signal, info = made_up
    page = render_holter(d, signal, info, tmp_path / "made_up.html")
    png = screenshot(page, tmp_path / "page.png", width=1200, height=2400)
    pixels = np.asarray(Image.open(png).convert("RGB"))
    assert pixels.shape == (2400, 1200, 3)
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 200  # text, plots, grid and trace: a blank page has a handful
    not_white = (pixels < 235).any(axis=2).mean()
    assert 0.05 < not_white < 0.9
    # the ECG paper's pink grid made it onto the screen
    r, g, b = (pixels[..., i].astype(int) for i in range(3))
    assert ((r > 200) & (r - g > 40) & (r - b > 40)).mean() > 0.002
    # and what is on screen is the report: its summary tables and at least one ECG strip
    dom = rendered_dom(page)
    for table in ('id="recording"', 'id="beats"', 'id="rhythms"'):
        assert "<table" in dom and table in dom
    assert re.search(r'<figure class="strip">.*?</figcaption>\s*<svg', dom, re.DOTALL)
