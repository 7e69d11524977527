"""Put a base ref's figures next to the current ones: for ``diff`` and ``check --base``."""

from __future__ import annotations

from dataclasses import replace

from tfjs_build.engine.lock_at_ref import BaseLock
from tfjs_build.engine.lockfile import Lock
from tfjs_build.report.record import Figures, ModelReport, Report


def compare(report: Report, base: BaseLock, include_removed: bool = True) -> Report:
    """Attach base figures to every model; models only the base has are appended as removed."""
    before = base.lock.models
    models = [replace(m, base=Figures.from_entry(before[m.name]), base_weights=before[m.name].weights)
              if m.name in before else m for m in report.models]
    if include_removed:
        present = {m.name for m in report.models}
        models += [ModelReport(name, None, base=Figures.from_entry(entry), base_weights=entry.weights)
                   for name, entry in sorted(before.items()) if name not in present]
    notes = () if base.found else (f"no tfjs.lock at {base.ref} ({base.commit}): every model counts as added",)
    return replace(report, models=tuple(models), base_ref=base.ref, base_commit=base.commit,
                   notes=report.notes + notes)


def diff_locks(current: Lock, base: BaseLock) -> Report:
    """Every model of the current lock against the base lock; no config or budgets involved."""
    models = tuple(ModelReport(name, Figures.from_entry(entry), weights=entry.weights)
                   for name, entry in sorted(current.models.items()))
    return compare(Report("diff", models), base)
