"""How benchmark figures read, in the bench command's output and in check/diff reports alike.

Milliseconds keep three significant figures (0.498 ms, 4.18 ms, 212 ms); a latency cell lists
each benchmarked backend's median (``wasm 4.18 ms (+0.21 ms, +5.3%)`` against a base measured
on the same kind of machine); a kernel table lists the slowest kernels of one profiled inference.
"""

from __future__ import annotations

from tfjs_build.bench.record import BackendBench, Machine, ModelBench
from tfjs_build.bench.units import format_ms, format_ms_delta
from tfjs_build.util.units import format_size


def latency_cell(bench: ModelBench | None, base: ModelBench | None) -> str:
    """``cpu 4.18 ms · wasm 0.498 ms (+0.02 ms, +4.2%)``; ``base`` holds only the backends that compare."""
    if bench is None:
        return "–"
    parts = []
    for backend, figures in sorted(bench.backends.items()):
        cell = f"{backend} {format_ms(figures.median_ms)}"
        before = base.backends.get(backend) if base is not None else None
        if before is not None and before.median_ms != figures.median_ms:
            cell += f" ({format_ms_delta(figures.median_ms, before.median_ms)})"
        parts.append(cell)
    return " · ".join(parts) or "–"


def multiple(figures: BackendBench) -> str:
    value = figures.in_reference(figures.median_ms)
    return "–" if value is None else f"{value:.3g}x"


BENCH_HEADERS = ("Model", "Backend", "Load", "First", "Median", "p90", "Spread", "Peak memory", "x ref")


def bench_cells(figures: BackendBench) -> tuple[str, ...]:
    """Load .. x ref of one backend (the columns after Model and Backend)."""
    rounds = f" ({figures.rounds} rounds)" if figures.rounds > 1 else ""
    return (format_ms(figures.load_ms), format_ms(figures.first_ms), format_ms(figures.median_ms),
            format_ms(figures.p90_ms), f"{figures.spread:.2f}{rounds}", format_size(figures.peak_bytes),
            multiple(figures))


def kernel_rows(figures: BackendBench) -> list[tuple[str, str, str, str]]:
    """(kernel, total time, calls, share of all kernel time) of the slowest kernels, slowest first."""
    total = figures.kernel_total_ms
    return [(k.name, format_ms(k.ms), str(k.calls), f"{k.ms / total * 100:.0f}%" if total else "–")
            for k in figures.kernels]


def markdown_kernels(name: str, bench: ModelBench) -> list[str]:
    """A collapsed table per model: the slowest kernels on each backend."""
    lines = ["", f"<details><summary>{name}: slowest kernels (tf.profile of one inference)</summary>", "",
             "| Backend | Kernel | Time | Calls | Share |", "|:---|:---|---:|---:|---:|"]
    for backend, figures in sorted(bench.backends.items()):
        lines += [f"| {backend} | `{kernel}` | {ms} | {calls} | {share} |"
                  for kernel, ms, calls, share in kernel_rows(figures)]
    return lines + ["", "</details>"]


def describe_machine(machine: Machine) -> str:
    parts = [machine.cpu, f"{machine.cores} cores", machine.os]
    parts += [f"{label} {value}" for label, value in (("TF.js", machine.tfjs), ("Node.js", machine.node),
                                                      ("Chromium", machine.chromium), ("GL", machine.gl_renderer))
              if value]
    return ", ".join(parts)
