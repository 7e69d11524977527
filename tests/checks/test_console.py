"""The terminal table: aligned, coloured only when the console has colour, figures and statuses right."""

from __future__ import annotations

import io

from tfjs_build.checks.budgets import BudgetLine
from tfjs_build.report.html import render_html
from tfjs_build.report.record import Figures, ModelReport, Report
from tfjs_build.report.table import render_console
from tfjs_build.terminal import Console

FIGURES = Figures(size=3_400_000, transfer=3_100_000, transfer_brotli=None, shards=1, params=850_000,
                  max_abs_error=0.004, max_rel_error=0.02, top1_agreement=0.875, samples=8)
FAILED = ModelReport("big", FIGURES, budgets=(BudgetLine("size", 3_400_000, 3_000_000, "tfjs.yaml:9:13: x"),),
                     failures=("tfjs.yaml:9:13: x: 3.4 MB is over the limit of 3.0 MB (+400 kB)",))
REPORT = Report("check", (ModelReport("small", FIGURES), FAILED))


def _render(color: bool) -> str:
    stream = io.StringIO()
    render_console(REPORT, Console(stream=stream, color=color))
    return stream.getvalue()


def test_plain_table_when_there_is_no_colour() -> None:
    out = _render(color=False)
    assert "\033[" not in out
    header, small, big = out.splitlines()[:3]
    assert header.split() == ["Model", "Size", "Transfer", "(gzip)", "Shards", "Params", "Max", "error",
                              "Budgets", "Status"]
    assert small.split() == ["small", "3.4", "MB", "3.1", "MB", "1", "850,000", "0.004", "–", "ok"]
    assert big.split()[-3:] == ["size", "113%", "FAIL"]
    assert header.index("Status") == small.rindex("ok") == big.rindex("FAIL")  # columns line up
    assert "FAIL tfjs.yaml:9:13: x: 3.4 MB is over the limit of 3.0 MB (+400 kB)" in out
    assert "2 models, 1 failed" in out


def test_statuses_are_coloured_on_a_colour_console() -> None:
    out = _render(color=True)
    assert "\033[32mok\033[0m" in out
    assert "\033[31mFAIL\033[0m" in out


def test_html_states_every_figure_of_a_model() -> None:
    html = render_html(REPORT)
    assert ("3.4 MB · 3.1 MB gzip · 1 shard · 850,000 params · max abs error 0.004, max rel error 0.02, "
            "top-1 agreement 87.5% over 8 samples") in html
