"""``tfjs-build bench``: time the built models in real TF.js and record the figures in tfjs.bench.json.

Only fresh models are benchmarked (a stale output is not what tfjs.lock describes); each
record entry carries the lock fingerprint of the build it measured. No TensorFlow: inputs
come from model.json's signature or ``accuracy.inputs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tfjs_build.bench.inputs import bench_inputs
from tfjs_build.bench.measure import BenchOptions, bench_in_tfjs, machine
from tfjs_build.bench.record import BackendBench, BenchRecord, Machine, ModelBench, merge, read_bench, write_bench
from tfjs_build.bench.units import format_ms
from tfjs_build.config import Config
from tfjs_build.engine.lockfile import read_lock
from tfjs_build.engine.plan import require_fresh
from tfjs_build.terminal import Console


@dataclass(frozen=True)
class BenchRun:
    """What one ``bench`` measured (in the order it ran), on which machine, and what it did to the record."""

    machine: Machine
    measured: dict[str, ModelBench]
    max_spread: float
    record: BenchRecord  # tfjs.bench.json after this run
    note: str | None = None  # the record held another machine's figures, which this run replaced
    failures: tuple[str, ...] = ()  # TF.js could not run a model on a backend: TF.js's own message

    def noisy(self) -> list[tuple[str, str, BackendBench]]:
        """(model, backend, figures) whose spread stayed too wide after every round."""
        return [(name, backend, figures) for name, bench in self.measured.items()
                for backend, figures in bench.backends.items() if figures.spread > self.max_spread]


def bench_models(config: Config, names: Sequence[str], backends: Sequence[str] | None, options: BenchOptions,
                 console: Console, write: bool = True) -> BenchRun:
    """Benchmark each model on each backend; a model TF.js cannot run on one backend does not stop the others,
    and what was measured is recorded either way."""
    from tfjs_build.verify.runner import TfjsRuntimeError

    models = config.select(names)
    lock = read_lock(config.lock_path)
    require_fresh(config, lock, models, before="benchmarking")
    measured: dict[str, ModelBench] = {}
    envs: list[dict[str, str]] = []
    failures: list[str] = []
    for model in models:
        out_dir = config.model_output_dir(model.name)
        inputs = bench_inputs(model, out_dir)
        figures = {}
        for backend in backends or model.backends:
            try:
                result = bench_in_tfjs(out_dir, inputs, backend, format=model.format, options=options)
            except TfjsRuntimeError as exc:
                failures.append(f"{model.where('backends')}: {exc}; this model cannot be benchmarked on {backend}: "
                                f"fix the model, or leave {backend} out of backends (or of --backend)")
                continue
            figures[backend], envs = result.figures, envs + [result.env]
            console.info(f"{model.name} [{backend}]: median {format_ms(result.figures.median_ms)}, "
                         f"first {format_ms(result.figures.first_ms)}")
        if figures:
            measured[model.name] = ModelBench(lock.models[model.name].fingerprint, figures)
    host = machine(envs)
    path = config.paths.bench
    record, note = merge(read_bench(path), host, measured)
    if write and measured:
        write_bench(path, record)
    return BenchRun(host, measured, options.max_spread, record, note if write else None, tuple(failures))
