"""Table cells shared by the console and markdown renderers: values with deltas against a base.

A cell reads ``3.4 MB (+120 kB, +3.6%)`` when the figure moved, ``1.0 MB (new)`` for an
added model and ``– (was 2.0 MB)`` for a removed one, so both tables agree. A check
report adds a Budgets column: how much of each limit is in use (``size 88%``), and a benchmarked
project a Latency column (``wasm 4.18 ms (+0.21 ms, +5.3%)``, see report/latency.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tfjs_build.report.latency import latency_cell
from tfjs_build.report.record import Figures, ModelReport, Report
from tfjs_build.util.units import format_size, format_size_delta


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


Column = tuple[str, str, Callable[[float], str], Callable[[float, float], str]]
# (title, figure, how a value reads, how a change reads)
_COLUMNS: tuple[Column, ...] = (
    ("Size", "size", format_size, _size_delta),
    ("Transfer (gzip)", "transfer", format_size, _size_delta),
    ("Brotli", "transfer_brotli", format_size, _size_delta),
    ("Shards", "shards", lambda n: f"{int(n):,}", _count_delta),
    ("Params", "params", lambda n: f"{int(n):,}", _count_delta),
    ("Max error", "max_abs_error", lambda n: f"{n:.3g}", _error_delta),
)


def _columns(report: Report) -> tuple[Column, ...]:
    """Every figure column; Brotli only when some build measured it (it needs the brotli module)."""
    figures = [f for model in report.models for f in (model.figures, model.base) if f is not None]
    brotli = any(f.transfer_brotli is not None for f in figures)
    return tuple(column for column in _COLUMNS if brotli or column[1] != "transfer_brotli")


def _cell(column: Column, now: Figures | None, base: Figures | None, compared: bool) -> str:
    _, figure, show, delta = column
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


def _has_latency(report: Report) -> bool:
    """The Latency column shows when some model was benchmarked (tfjs.bench.json)."""
    return any(model.bench is not None for model in report.models)


def _has_verified(report: Report) -> bool:
    """The Verified column shows in a check when some model's build verified it in TF.js (tfjs.yaml's verify)."""
    return report.command == "check" and any(model.verified for model in report.models)


def _verified_cell(model: ModelReport) -> str:
    """Each backend the build verified the model on, with TF.js's max relative error against TensorFlow."""
    return ", ".join(f"{backend} {figures.max_rel_error:.1g}" for backend, figures in model.verified.items()) or "–"


def headers(report: Report) -> tuple[str, ...]:
    latency = ("Latency (median)",) if _has_latency(report) else ()
    budgets = ("Budgets",) if report.command == "check" else ()
    verified = ("Verified (max rel error)",) if _has_verified(report) else ()
    return ("Model", *(column[0] for column in _columns(report)), *latency, *budgets, *verified, "Status")


def _budgets_cell(model: ModelReport) -> str:
    return ", ".join(f"{line.label} {_share(line.used)}" for line in model.budgets) or "–"


def _share(used: float) -> str:
    """88%, and below 1% one significant digit (0.2%), so a small share never reads as none."""
    percent = used * 100
    return f"{percent:.0f}%" if percent >= 1 or percent == 0 else f"{percent:.1g}%"


def rows(report: Report) -> list[Row]:
    compared, columns, latency = report.base_ref is not None, _columns(report), _has_latency(report)
    verified = _has_verified(report)
    return [
        Row(
            name=model.name,
            cells=tuple(_cell(column, model.figures, model.base, compared) for column in columns)
            + ((latency_cell(model.bench, model.base_bench),) if latency else ())
            + ((_budgets_cell(model),) if report.command == "check" else ())
            + ((_verified_cell(model),) if verified else ()),
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
