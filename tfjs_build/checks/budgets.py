"""Pure: a model's measured figures against its budgets, one line per budget.

Every budget the user set gives a line, passing or not, because the HTML report draws
a bar for each. Figures come from ``tfjs.lock``, so nothing here reads model files or
imports tensorflow. A failing line's message names the tfjs.yaml line of the limit,
e.g. ``tfjs.yaml:14:15: models.mobilenet.budgets.size: 5.3 MB is over the limit of
5.0 MB (+300 kB)``. ``transfer`` is judged on gzip bytes: every CDN and browser speaks
gzip, and brotli is never larger, so a model within the gzip limit is within it either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tfjs_build.config import ModelConfig
from tfjs_build.engine.lockfile import LockEntry
from tfjs_build.util.units import format_size, format_size_delta


def _count(noun: str) -> Callable[[float], str]:
    return lambda n: f"{int(n):,} {noun}"


def _error(n: float) -> str:
    return f"{n:.4g}"


def _plain(n: float) -> str:
    return f"{int(n):,}"


# budget name -> (config key for where(), how the measured value reads, how the limit reads, how a difference reads)
_FORMATS: dict[str, tuple[str, Callable[[float], str], Callable[[float], str], Callable[[float], str]]] = {
    "size": ("budgets.size", format_size, format_size, lambda d: format_size_delta(int(d))),
    "transfer": ("budgets.transfer", lambda n: f"{format_size(n)} gzip", format_size,
                 lambda d: format_size_delta(int(d))),
    "shards": ("budgets.shards", _count("shards"), _plain, lambda d: f"{int(d):+,}"),
    "params": ("budgets.params", _count("params"), _plain, lambda d: f"{int(d):+,}"),
    "accuracy": ("accuracy.max_error", lambda n: f"max abs error {_error(n)}", _error, lambda d: f"+{_error(d)}"),
}


@dataclass(frozen=True)
class BudgetLine:
    """One budget of one model: the measured value, its limit and where the limit is written."""

    budget: str  # size, transfer, shards, params or accuracy
    actual: float
    limit: float
    where: str  # "tfjs.yaml:14:15: models.NAME.budgets.size"

    @property
    def ok(self) -> bool:
        return self.actual <= self.limit

    @property
    def used(self) -> float:
        """Fraction of the limit in use (1.0 = exactly at the limit); the bar length."""
        return self.actual / self.limit if self.limit else float(self.actual > 0)

    @property
    def shown(self) -> tuple[str, str]:
        """(measured, limit) as the messages and bars print them."""
        _, actual, limit, _ = _FORMATS[self.budget]
        return actual(self.actual), limit(self.limit)

    @property
    def message(self) -> str:
        actual, limit = self.shown
        if self.ok:
            return f"{self.where}: {actual} is within the limit of {limit}"
        return f"{self.where}: {actual} is over the limit of {limit} ({_FORMATS[self.budget][3](self.actual - self.limit)})"

    def to_json(self) -> dict[str, Any]:
        return {"budget": self.budget, "actual": self.actual, "limit": self.limit, "ok": self.ok,
                "where": self.where, "message": self.message}


def evaluate_budgets(model: ModelConfig, entry: LockEntry) -> tuple[BudgetLine, ...]:
    """A line for every budget ``model`` sets, in a fixed order (size, transfer, shards, params, accuracy)."""
    measured: dict[str, tuple[float | None, float | None]] = {
        "size": (entry.size, model.budgets.size),
        "transfer": (entry.transfer, model.budgets.transfer),
        "shards": (entry.shards, model.budgets.shards),
        "params": (entry.params, model.budgets.params),
        "accuracy": (_max_abs_error(entry), model.accuracy.max_error),
    }
    return tuple(
        BudgetLine(budget, actual, limit, model.where(_FORMATS[budget][0]))
        for budget, (actual, limit) in measured.items()
        if actual is not None and limit is not None
    )


def missing_accuracy(model: ModelConfig, entry: LockEntry) -> str | None:
    """Why the accuracy gate cannot be judged: a limit is set, the model is quantized, no figures."""
    quantized = bool(entry.settings.get("quantize"))
    if model.accuracy.max_error is None or not quantized or _max_abs_error(entry) is not None:
        return None
    return (
        f"{model.where('accuracy.max_error')}: tfjs.lock has no accuracy figures for this quantized "
        f"model; run `tfjs-build build {model.name}` to measure them"
    )


def _max_abs_error(entry: LockEntry) -> float | None:
    return entry.accuracy.max_abs_error if entry.accuracy is not None else None
