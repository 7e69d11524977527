"""Pure: a model's measured figures against its budgets, one line per budget.

Every budget the user set gives a line, passing or not, because the HTML report draws
a bar for each. Figures come from ``tfjs.lock`` (and, for latency, first inference and
memory, from ``tfjs.bench.json``), so nothing here reads model files or imports
tensorflow. A failing line's message names the tfjs.yaml line of the limit, e.g.
``tfjs.yaml:14:15: models.mobilenet.budgets.size: 5.3 MB is over the limit of
5.0 MB (+300 kB)``. ``transfer`` is judged on gzip bytes: every CDN and browser speaks
gzip, and brotli is never larger, so a model within the gzip limit is within it either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tfjs_build.bench.record import ModelBench
from tfjs_build.bench.units import format_ms
from tfjs_build.config import ModelConfig
from tfjs_build.engine.lockfile import LockEntry
from tfjs_build.project import BENCH_NAME
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
    "latency": ("budgets.latency", lambda n: f"median {format_ms(n)}", format_ms, lambda d: f"+{format_ms(d)}"),
    "first_inference": ("budgets.first_inference", lambda n: f"first inference {format_ms(n)}", format_ms,
                        lambda d: f"+{format_ms(d)}"),
    "memory": ("budgets.memory", lambda n: f"{format_size(n)} peak memory", format_size,
               lambda d: format_size_delta(int(d))),
}
_MEASURED = {"latency": "median", "first_inference": "first inference"}  # how a timing line names its figure


@dataclass(frozen=True)
class BudgetLine:
    """One budget of one model: the measured value, its limit and where the limit is written."""

    budget: str  # size, transfer, shards, params, accuracy, latency, first_inference or memory
    actual: float
    limit: float
    where: str  # "tfjs.yaml:14:15: models.NAME.budgets.size"
    backend: str = ""  # latency and first_inference: per backend; memory: the backend with the highest peak
    unit: str = ""  # "x": multiples of bench --calibrate's reference workload

    @property
    def label(self) -> str:
        """The budget's name in tables and bars: ``size``, ``latency wasm``."""
        return f"{self.budget} {self.backend}" if self.backend else self.budget

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
        actual, limit, _ = self._formats
        return actual(self.actual), limit(self.limit)

    @property
    def _formats(self) -> tuple[Callable[[float], str], Callable[[float], str], Callable[[float], str]]:
        if self.unit != "x":
            return _FORMATS[self.budget][1:]
        measured = _MEASURED[self.budget]
        return lambda n: f"{measured} {n:.3g}x the reference workload", lambda n: f"{n:g}x", lambda d: f"+{d:.3g}x"

    @property
    def message(self) -> str:
        actual, limit = self.shown
        measured = f" ({self.backend})" if self.budget == "memory" else ""
        if self.ok:
            return f"{self.where}: {actual}{measured} is within the limit of {limit}"
        return f"{self.where}: {actual}{measured} is over the limit of {limit} ({self._formats[2](self.actual - self.limit)})"

    def to_json(self) -> dict[str, Any]:
        return {"budget": self.budget, "actual": self.actual, "limit": self.limit, "ok": self.ok,
                "where": self.where, "message": self.message, "backend": self.backend, "unit": self.unit}


def evaluate_budgets(model: ModelConfig, entry: LockEntry, bench: ModelBench | None = None) -> tuple[BudgetLine, ...]:
    """A line for every budget ``model`` sets that has a figure, in a fixed order (size, transfer, shards, params,
    accuracy, then latency, first_inference and memory from ``bench``: the model's tfjs.bench.json entry)."""
    return _build_lines(model, entry) + _timing_lines(model, bench)


def _build_lines(model: ModelConfig, entry: LockEntry) -> tuple[BudgetLine, ...]:
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


def _timing_lines(model: ModelConfig, bench: ModelBench | None) -> tuple[BudgetLine, ...]:
    """Latency and first-inference lines per backend (in ms, or in x when calibrated), then memory: the highest
    peak of any backend benchmarked."""
    lines = []
    for budget, figure in _TIMED:
        for backend, limit in getattr(model.budgets, budget):
            figures = bench.backends.get(backend) if bench is not None else None
            if figures is None:
                continue  # missing_timings says so
            ms = getattr(figures, figure)
            actual = ms if limit.unit == "ms" else figures.in_reference(ms)
            if actual is not None:
                where = model.where(f"budgets.{budget}.{backend}")
                lines.append(BudgetLine(budget, actual, limit.amount, where, backend, limit.unit))
    if model.budgets.memory is not None and bench is not None and bench.backends:
        backend, figures = max(bench.backends.items(), key=lambda item: item[1].peak_bytes)
        lines.append(BudgetLine("memory", figures.peak_bytes, model.budgets.memory, model.where("budgets.memory"),
                                backend))
    return tuple(lines)


_TIMED = (("latency", "median_ms"), ("first_inference", "first_ms"))  # budget -> the BackendBench figure it limits


def missing_timings(model: ModelConfig, bench: ModelBench | None) -> list[str]:
    """Why a timing budget cannot be judged: tfjs.bench.json has no figures for that model and backend, or none
    calibrated for a limit in x. A budget nobody measured fails rather than passing unseen."""
    messages = []
    for budget, _ in _TIMED:
        for backend, limit in getattr(model.budgets, budget):
            figures = bench.backends.get(backend) if bench is not None else None
            if figures is None:
                messages.append(f"{model.where(f'budgets.{budget}.{backend}')}: {BENCH_NAME} has no {backend} figures "
                                f"for this model; run `tfjs-build bench {model.name} --backend {backend}` and commit "
                                f"{BENCH_NAME}")
            elif limit.unit == "x" and figures.reference_ms is None:
                messages.append(f"{model.where(f'budgets.{budget}.{backend}')}: a limit in x needs calibrated figures; "
                                f"run `tfjs-build bench {model.name} --backend {backend} --calibrate`")
    if model.budgets.memory is not None and (bench is None or not bench.backends):
        messages.append(f"{model.where('budgets.memory')}: {BENCH_NAME} has no figures for this model; run "
                        f"`tfjs-build bench {model.name}` and commit {BENCH_NAME}")
    return messages
