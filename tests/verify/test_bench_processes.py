"""bench keeps the quietest of its fresh processes: the figures of the one with the lowest median, every process's
median, and the lowest reference-workload median. The processes are stand-ins returning set figures (the real
ones run in test_bench_command); what is tested is the choice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tfjs_build.bench import measure
from tfjs_build.bench.measure import BenchOptions, Measured

from .test_bench_budgets import figures


def _run(monkeypatch: pytest.MonkeyPatch, processes: list[tuple[float, float | None]]) -> Measured:
    answers = iter(Measured(figures(median, first=100.0 + i, reference=reference), {"process": str(i)})
                   for i, (median, reference) in enumerate(processes))
    monkeypatch.setattr(measure, "_bench_once", lambda *args, **kwargs: next(answers))
    return measure.bench_in_tfjs(Path("m"), {"x": np.zeros(1)}, "wasm", format="graph",
                                 options=BenchOptions(processes=len(processes)))


def test_the_lowest_median_is_kept_with_every_process_median(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = _run(monkeypatch, [(28.2, 4.3), (24.9, 3.4), (26.0, 3.9)])
    assert kept.figures.median_ms == 24.9 and kept.figures.first_ms == 101.0 and kept.env == {"process": "1"}
    assert kept.figures.process_medians == (28.2, 24.9, 26.0)
    assert kept.figures.reference_ms == 3.4


def test_the_reference_is_the_lowest_of_any_process(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = _run(monkeypatch, [(24.9, 6.5), (26.0, 3.4)])
    assert kept.figures.median_ms == 24.9 and kept.figures.reference_ms == 3.4


def test_one_process_and_no_calibration(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = _run(monkeypatch, [(5.0, None)])
    assert kept.figures.process_medians == (5.0,) and kept.figures.reference_ms is None
