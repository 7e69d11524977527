"""Table cells shared by the console and markdown renderers: values with deltas against a base.

A cell reads ``3.4 MB (+120 kB, +3.6%)`` when the figure moved, ``1.0 MB (new)`` for an
added model and ``– (was 2.0 MB)`` for a removed one, so both tables agree. A check
report adds a Budgets column: how much of each limit is in use (``size 88%``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from tfjs_build.report.record import Figures, ModelReport, Report
from tfjs_build.units import format_size, format_size_delta

FIGURE_HEADERS = ("Size", "Transfer (gzip)", "Shards", "Params", "Max error")


@dataclass(frozen=True)
class Row:
    name: str
    cells: tuple[str, ...]  # one per headers(report)[1:-1]
    status: str  # ok, FAIL, or against a base: added, removed, changed, same (when ok)


def _percent(now: float, base: float) -> str:
    return f", {(now - base) / base * 100:+.1f}%" if base else ""


def _size_delta(now: float, base: float) -> str:
    return f" ({format_size_delta(int(now - base))}{_percent(now, base)})"


def _count_delta(now: float, base: float) -> str:
    return f" ({int(now - base):+,}{_percent(now, base)})"


def _error_delta(now: float, base: float) -> str:
    return f" (was {base:.3g})"


# column -> (figure, how a value reads, how a change reads)
_COLUMNS: tuple[tuple[str, Callable[[float], str], Callable[[float, float], str]], ...] = (
    ("size", format_size, _size_delta),
    ("transfer", format_size, _size_delta),
    ("shards", lambda n: f"{int(n):,}", _count_delta),
    ("params", lambda n: f"{int(n):,}", _count_delta),
    ("max_abs_error", lambda n: f"{n:.3g}", _error_delta),
)


def _cell(column: int, now: Figures | None, base: Figures | None, compared: bool) -> str:
    figure, show, delta = _COLUMNS[column]
    value = getattr(now, figure) if now else None
    before = getattr(base, figure) if base else None
    if value is None:
        return f"– (was {show(before)})" if now is None and before is not None else "–"
    if not compared or before == value:
        return show(value)
    if before is None:
        return f"{show(value)} (new)"
    return show(value) + delta(value, before)


def status(model: ModelReport, compared: bool) -> str:
    if not model.ok:
        return "FAIL"
    return model.change if compared else "ok"


def headers(report: Report) -> tuple[str, ...]:
    budgets = ("Budgets",) if report.command == "check" else ()
    return ("Model", *FIGURE_HEADERS, *budgets, "Status")


def _budgets_cell(model: ModelReport) -> str:
    return ", ".join(f"{line.budget} {line.used * 100:.0f}%" for line in model.budgets) or "–"


def rows(report: Report) -> list[Row]:
    compared = report.base_ref is not None
    return [
        Row(
            name=model.name,
            cells=tuple(_cell(i, model.figures, model.base, compared) for i in range(len(_COLUMNS)))
            + ((_budgets_cell(model),) if report.command == "check" else ()),
            status=status(model, compared),
        )
        for model in report.models
    ]


def summary(report: Report) -> str:
    """One line: how many models, how many failed, and how they moved against the base."""
    current = [model for model in report.models if model.figures is not None or model.failures]
    text = f"{len(current)} model{'s' if len(current) != 1 else ''}"
    if report.command == "check":
        failed = sum(not model.ok for model in current)
        text += f", {failed} failed" if failed else ", all checks passed"
    if report.base_ref is not None:
        changes = [model.change for model in report.models]
        moved = ", ".join(f"{changes.count(kind)} {kind}" for kind in ("changed", "added", "removed")
                          if kind in changes)
        text += f"; against {report.base_ref} ({report.base_commit}): {moved or 'no changes'}"
    return text
