"""The HTML report: self-contained, deterministic, and really rendered by headless Chromium."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pngpixels import read_png
from projects import Project, entry

from tfjs_build.report.html import COLORS
from tfjs_build.verify.runner import chromium_path

# Two layers whose bars must come out 4:1 wide; kernel+bias of one layer are summed.
WEIGHTS = (("stem/kernel", "float32", 100_000), ("head/kernel", "uint8", 390_000),
           ("head/bias", "float32", 10_000), ("stem/bias", "float32", 0))


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


@pytest.fixture
def page(project: Project, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A check report with a passing budget (size), a failing one (shards) and a weight chart."""
    monkeypatch.chdir(project.root)
    project.write_models("mobilenet", keys="budgets:\n  size: 1MB\n  shards: 1")
    project.write_lock({"mobilenet": entry(size=500_000, shards=3, weights=WEIGHTS)})
    code, _ = project.run("check", "--html", "report.html")
    assert code == 1
    return project.root / "report.html"


def test_page_is_self_contained_and_deterministic(page: Path, project: Project) -> None:
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"https?://|<script|<link|<img|url\(|@import", html)
    project.run("check", "--html", "again.html")
    assert (project.root / "again.html").read_bytes() == page.read_bytes()


@pytest.mark.browser
def test_chromium_renders_budget_bars_and_the_byte_chart(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    subprocess.run(
        [chromium_path(), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--hide-scrollbars", "--window-size=1200,900", f"--screenshot={shot}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    pixels = read_png(shot)
    masks = {kind: np.all(pixels == _rgb(colour), axis=2) for kind, colour in COLORS.items()}
    bar_area = 100 * 10  # a bar is 16 px high and hundreds wide; text in these colours is far smaller
    assert masks["ok"].sum() > bar_area, "no green bar for the passing size budget"
    assert masks["over"].sum() > bar_area, "no red bar for the failing shards budget"
    # The byte chart: one blue band per layer, heaviest (head, 400 kB) first, widths 4:1 (stem, 100 kB).
    widths = masks["weight"].sum(axis=1)
    rows = np.flatnonzero(widths)
    bands = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    band_widths = [int(widths[band].max()) for band in bands]
    assert len(band_widths) == 2, band_widths
    assert band_widths[0] / band_widths[1] == pytest.approx(4.0, rel=0.03)
