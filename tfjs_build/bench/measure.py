"""Benchmark one built model on one backend in real TF.js, and describe the machine that did it.

The timing itself happens in ``verify/js/bench.mjs`` (node for cpu and wasm, headless Chromium
for webgl), started through the same runner as ``verify``; each (model, backend) gets a fresh
process, so the first inference really is cold. Its figures come back as one JSON string output.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tfjs_build.bench.record import BackendBench, KernelTime, Machine

MAX_ROUNDS = 3  # a round of --runs, then up to 2 more while the spread is too wide
MAX_SPREAD = 1.25  # p90 / median above this is too noisy to trust: run another round
TOP_KERNELS = 5
# Fresh processes per (model, backend), the lowest median kept: a process can settle in a slower steady state
# for its whole life (MobileNetV2 on wasm: 24.9 ms in one, 28.2 ms in the next, each with a spread of 1.03),
# which no number of rounds inside it reveals; like rounds, noise only ever adds time.
PROCESSES = 2


@dataclass(frozen=True)
class BenchOptions:
    runs: int = 20
    warmup: int = 3
    calibrate: bool = False
    max_rounds: int = MAX_ROUNDS
    max_spread: float = MAX_SPREAD
    processes: int = PROCESSES


@dataclass(frozen=True)
class Measured:
    """One backend's figures, and what ran them (TF.js and node versions, user agent, GL renderer)."""

    figures: BackendBench
    env: dict[str, str]


def bench_in_tfjs(model_dir: Path, inputs: dict[str, np.ndarray], backend: str, *, format: str,
                  options: BenchOptions, timeout: float = 1800.0) -> Measured:
    """The figures of the process (of ``options.processes``) with the lowest median, with every process's median;
    the reference workload's lowest median too, for the same reason."""
    runs = [_bench_once(model_dir, inputs, backend, format=format, options=options, timeout=timeout)
            for _ in range(options.processes)]
    kept = min(runs, key=lambda run: run.figures.median_ms)
    references = [run.figures.reference_ms for run in runs if run.figures.reference_ms is not None]
    return Measured(dataclasses.replace(kept.figures, process_medians=tuple(run.figures.median_ms for run in runs),
                                        reference_ms=min(references, default=None)), kept.env)


def _bench_once(model_dir: Path, inputs: dict[str, np.ndarray], backend: str, *, format: str,
                options: BenchOptions, timeout: float) -> Measured:
    from tfjs_build.verify.runner import run_request

    settings = {"warmup": options.warmup, "runs": options.runs, "maxRounds": options.max_rounds,
                "maxSpread": options.max_spread, "calibrate": options.calibrate, "topKernels": TOP_KERNELS}
    request = {"action": "bench", "format": format, "outputs": None, "executeAsync": None, "bench": settings}
    response = run_request(model_dir, inputs, backend, request, timeout=timeout)
    data = json.loads(bytes(response.outputs["bench"].item()))
    return Measured(figures(data, response.mode, options), data["env"])


def figures(data: dict[str, Any], mode: str, options: BenchOptions) -> BackendBench:
    """The record of bench.mjs's answer, times to 4 significant digits (the file is committed; a mean over
    many runs per sample can be well below a microsecond's resolution)."""
    def ms(value: float) -> float:
        return float(f"{float(value):.4g}")

    return BackendBench(
        mode=mode, runs=options.runs, warmup=options.warmup, rounds=int(data["rounds"]),
        init_ms=ms(data["initMs"]), load_ms=ms(data["loadMs"]), first_ms=ms(data["firstMs"]),
        median_ms=ms(data["medianMs"]), p90_ms=ms(data["p90Ms"]), mad_ms=ms(data["madMs"]),
        spread=round(float(data["spread"]), 3), resident_bytes=int(data["residentBytes"]),
        peak_bytes=int(data["peakBytes"]), kernel_total_ms=ms(data["kernelTotalMs"]),
        kernels=tuple(KernelTime(k["name"], ms(k["ms"]), int(k["calls"])) for k in data["kernels"]),
        round_medians=tuple(ms(m) for m in data["roundMedians"]),
        loops=int(data["loops"]),
        reference_ms=None if data["referenceMs"] is None else ms(data["referenceMs"]),
    )


def machine(envs: list[dict[str, str]]) -> Machine:
    """This host (CPU model, cores, OS) with the runtimes the runs reported."""
    merged: dict[str, str] = {}
    for env in envs:
        merged |= env
    return Machine(cpu=cpu_model(), cores=os.cpu_count() or 1, os=f"{platform.system()} {platform.machine()}",
                   tfjs=merged.get("tfjs"), node=merged.get("node"), chromium=merged.get("chromium"),
                   gl_renderer=merged.get("glRenderer"))


def cpu_model() -> str:
    """The CPU's marketing name (/proc/cpuinfo on Linux), else what the platform module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            name, _, value = line.partition(":")
            if name.strip() in ("model name", "Model", "cpu model") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"

