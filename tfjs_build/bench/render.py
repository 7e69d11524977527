"""What ``bench`` prints: a terminal table, markdown (job summary, PR comment) or JSON."""

from __future__ import annotations

import json

from tfjs_build.bench.record import BenchRecord, render_bench
from tfjs_build.bench.run import BenchRun
from tfjs_build.bench.units import format_ms
from tfjs_build.project import BENCH_NAME
from tfjs_build.report.latency import BENCH_HEADERS, bench_cells, describe_machine, markdown_kernels
from tfjs_build.terminal import Console


def _rows(run: BenchRun) -> list[tuple[str, ...]]:
    return [(name, backend, *bench_cells(figures))
            for name, bench in run.measured.items() for backend, figures in bench.backends.items()]


def _warnings(run: BenchRun) -> list[str]:
    lines = [f"{name} [{backend}]: still noisy after {figures.rounds} rounds (p90/median {figures.spread:.2f} > "
             f"{run.max_spread}); close other programs, or raise --runs" for name, backend, figures in run.noisy()]
    return lines + ([run.note] if run.note else [])


def render_console(run: BenchRun, console: Console, wrote: bool) -> None:
    table = [BENCH_HEADERS, *_rows(run)]
    widths = [max(len(row[i]) for row in table) for i in range(len(BENCH_HEADERS))]
    for number, row in enumerate(table):
        cells = [cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        line = "  ".join(cells)
        console.out(console.paint(line, "bold") if number == 0 else line)
    for name, bench in run.measured.items():
        for backend, figures in bench.backends.items():
            kernels = ", ".join(f"{k.name} {format_ms(k.ms)}" + (f" x{k.calls}" if k.calls > 1 else "")
                                for k in figures.kernels)
            console.out(f"{name} [{backend}] slowest kernels: {kernels or '(none profiled)'}")
    console.out(f"machine: {describe_machine(run.machine)}")
    for warning in _warnings(run):
        console.warn(warning)
    if wrote:
        console.info(f"wrote {BENCH_NAME}")


def render_markdown(run: BenchRun) -> str:
    lines = [f"### tfjs-build bench: {len(run.measured)} model{'s' if len(run.measured) != 1 else ''}", "",
             "| " + " | ".join(BENCH_HEADERS) + " |", "|:---|:---|" + "---:|" * (len(BENCH_HEADERS) - 2)]
    lines += ["| " + " | ".join((f"`{row[0]}`", *row[1:])) + " |" for row in _rows(run)]
    for name, bench in run.measured.items():
        lines += markdown_kernels(name, bench)
    lines += ["", f"_Machine: {describe_machine(run.machine)}. Median and p90 of {_runs(run)} timed runs after "
                  f"discarded warm-ups, each reading its outputs back._"]
    lines += [f"- ⚠️ {warning}" for warning in _warnings(run)]
    return "\n".join(lines) + "\n"


def _runs(run: BenchRun) -> str:
    counts = sorted({f.runs for bench in run.measured.values() for f in bench.backends.values()})
    return "/".join(map(str, counts)) or "0"


def render_json(run: BenchRun) -> str:
    """The run's own figures and machine, in tfjs.bench.json's shape (for scripts)."""
    data = json.loads(render_bench(BenchRecord(run.machine, run.measured)))
    data["warnings"] = _warnings(run)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
