"""The one Report record every renderer (console, JSON, markdown, HTML) draws from.

``check`` fills budgets and findings; ``diff`` and ``check --base`` fill ``base``. A
renderer never reads the lock or the config itself, so all formats say the same thing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tfjs_build.bench.record import ModelBench
from tfjs_build.checks.budgets import BudgetLine
from tfjs_build.convert.result import AccuracyFigures
from tfjs_build.engine.lock_codec import to_data
from tfjs_build.engine.lockfile import LockedWeight, LockEntry


@dataclass(frozen=True)
class Figures:
    """The measured numbers of one build of one model, as recorded in tfjs.lock."""

    size: int
    transfer: int
    transfer_brotli: int | None
    shards: int
    params: int
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    top1_agreement: float | None = None
    samples: int | None = None

    @classmethod
    def from_entry(cls, entry: LockEntry) -> Figures:
        accuracy = entry.accuracy
        return cls(
            size=entry.size,
            transfer=entry.transfer,
            transfer_brotli=entry.transfer_brotli,
            shards=entry.shards,
            params=entry.params,
            **(asdict(accuracy) if accuracy is not None else {}),  # the same four names as AccuracyFigures
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Unsupported:
    """An op (or fused activation) some target backends cannot run, with the graph nodes that use it."""

    op: str
    backends: tuple[str, ...]
    nodes: tuple[str, ...]  # empty when model.json is not here to name them
    reason: str


@dataclass(frozen=True)
class ModelReport:
    """One model's row. ``figures`` is None when the model is not in the current lock."""

    name: str
    figures: Figures | None
    base: Figures | None = None
    budgets: tuple[BudgetLine, ...] = ()
    unsupported: tuple[Unsupported, ...] = ()
    failures: tuple[str, ...] = ()  # every failed check, as a message naming file:line and fix
    notes: tuple[str, ...] = ()  # worth knowing, not failing
    weights: tuple[LockedWeight, ...] = ()  # from the lock
    base_weights: tuple[LockedWeight, ...] = ()  # the same at the base ref
    bench: ModelBench | None = None  # tfjs.bench.json's figures
    base_bench: ModelBench | None = None  # the base ref's, only for backends measured on the same kind of machine
    verified: dict[str, AccuracyFigures] = field(default_factory=dict)  # per backend, when the build verified it

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def change(self) -> str:
        """added / removed / changed / same against the base; only meaningful when the report has a base_ref."""
        if self.figures is None:
            return "removed"
        if self.base is None:
            return "added"
        return "same" if self.base == self.figures else "changed"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "figures": self.figures.to_json() if self.figures else None,
            "base": self.base.to_json() if self.base else None,
            "budgets": [line.to_json() for line in self.budgets],
            "unsupported": [{"op": u.op, "backends": list(u.backends), "nodes": list(u.nodes), "reason": u.reason}
                            for u in self.unsupported],
            "failures": list(self.failures),
            "notes": list(self.notes),
            "weights": [list(w) for w in self.weights],
            "base_weights": [list(w) for w in self.base_weights],
            "bench": to_data(self.bench),
            "base_bench": to_data(self.base_bench),
            "verified": to_data(self.verified),
        }


@dataclass(frozen=True)
class Report:
    """What ``check`` or ``diff`` found. ``base_ref`` is set when figures are compared with a git ref."""

    command: str  # "check" or "diff"
    models: tuple[ModelReport, ...]
    base_ref: str | None = None
    base_commit: str | None = None  # short sha the ref resolved to
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(model.ok for model in self.models)

    @property
    def failures(self) -> tuple[str, ...]:
        return tuple(message for model in self.models for message in model.failures)

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "ok": self.ok,
            "base_ref": self.base_ref,
            "base_commit": self.base_commit,
            "notes": list(self.notes),
            "models": [model.to_json() for model in self.models],
        }
