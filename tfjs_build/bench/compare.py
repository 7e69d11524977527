"""Latency deltas against a git ref, for ``check --base`` and ``diff``: only between like machines.

A timing measured on another CPU, core count, runtime or GL renderer says nothing about this
change, so a backend's base figures are attached only when ``machine_difference`` finds none;
otherwise a note says which part of the machine differs.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tfjs_build.bench.record import BenchRecord, ModelBench, machine_difference, read_bench, read_bench_at
from tfjs_build.project import BENCH_NAME
from tfjs_build.report.record import Report


def compare_bench_at(report: Report, bench_path: Path, ref: str) -> Report:
    """``report`` (already compared with the lock at ``ref``) with the benchmark figures at ``ref`` added."""
    return compare_bench(report, read_bench(bench_path), read_bench_at(ref, bench_path))


def compare_bench(report: Report, current: BenchRecord, base: BenchRecord | None) -> Report:
    """Each model's current benchmark and, per backend measured on a like machine, the base one."""
    if current.machine is None:
        return report  # nothing benchmarked here: no Latency column, nothing to say
    label = f"{report.base_ref} ({report.base_commit})"
    reasons: dict[str, set[str]] = {}
    models = []
    for model in report.models:
        bench = model.bench or current.models.get(model.name)
        before = base.models.get(model.name) if base is not None else None
        kept = {}
        if bench is not None and before is not None and base is not None and base.machine is not None:
            for backend in sorted(bench.backends.keys() & before.backends.keys()):
                why = machine_difference(current.machine, base.machine, backend)
                if why is None:
                    kept[backend] = before.backends[backend]
                else:
                    reasons.setdefault(why, set()).add(backend)
        base_bench = ModelBench(before.fingerprint, kept) if before is not None and kept else None
        models.append(replace(model, bench=bench, base_bench=base_bench))
    notes = [f"latency on {', '.join(sorted(backends))} not compared with {label}: {why}; timings compare only "
             f"when measured on the same kind of machine" for why, backends in reasons.items()]
    if base is None:
        notes.append(f"latency not compared: no {BENCH_NAME} at {label}")
    return replace(report, models=tuple(models), notes=report.notes + tuple(notes))
