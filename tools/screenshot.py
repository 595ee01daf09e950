"""A picture of an HTML page as a person would see it: headless Chromium renders the page
and saves a PNG. For the report's own tests and the README's pictures; nothing is fetched
(the flags turn off Chromium's background traffic)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from arrhythmia.errors import ArrhythmiaError

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
)  # fmt: skip
TIMEOUT_S = 180


class NoBrowser(ArrhythmiaError):
    """No Chromium to render a page with."""


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _browser() -> str:
    browser = find_chromium()
    if browser is None:
        raise NoBrowser("no chromium on PATH (apt-get install chromium)")
    return browser


def _url(page: str | Path) -> str:
    return str(page) if "://" in str(page) else Path(page).resolve().as_uri()


def rendered_dom(page: str | Path) -> str:
    """The page's DOM after Chromium has loaded and laid it out (what is on screen)."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        done = subprocess.run(
            [_browser(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
             _url(page)],
            check=True, capture_output=True, timeout=TIMEOUT_S, text=True,
        )  # fmt: skip
    return done.stdout


def screenshot(
    page: str | Path, png: str | Path, *, width: int = 1400, height: int = 2000,
    extra_flags: tuple[str, ...] = (),
) -> Path:  # fmt: skip
    """Render `page` (a URL, or a path to an HTML file) in a width x height window into `png`."""
    browser, url = _browser(), _url(page)
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        subprocess.run(
            [browser, *CHROMIUM_FLAGS, *extra_flags, f"--user-data-dir={profile}",
             f"--window-size={width},{height}", f"--screenshot={png}", url],
            check=True, capture_output=True, timeout=TIMEOUT_S,
        )  # fmt: skip
    return png
