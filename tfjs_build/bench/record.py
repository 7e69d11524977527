"""tfjs.bench.json: the committed benchmark record beside tfjs.lock, with the machine that measured it.

A file of its own rather than part of tfjs.lock: timings belong to a machine and change on
every run, while the lock is reproducible (same inputs, same bytes on any machine) and is
rewritten only when a build really changes. Keeping them apart keeps ``status`` and ``plan``
blind to benchmarks and a re-run of ``bench`` out of the lock's history.

Read and written by the lock's own typed codec (``engine.lock_codec``): strict types, no
negative or non-finite numbers, an unknown key is refused; any fault names the file and key.
Standard library only: ``check`` reads it on its fast path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import NamedTuple

from tfjs_build.engine.lock_codec import from_data, to_data
from tfjs_build.errors import TfjsBuildError
from tfjs_build.project import BENCH_NAME
from tfjs_build.util.atomic import atomic_write_text

BENCH_VERSION = 1
BACKENDS = ("cpu", "wasm", "webgl")
REPAIR = "restore it from git or delete it and run `tfjs-build bench`"


class KernelTime(NamedTuple):
    """One kernel of one profiled inference (a JSON list: [name, ms, calls])."""

    name: str
    ms: float
    calls: int


@dataclass(frozen=True)
class BackendBench:
    """One model on one backend. Times in ms; the median and p90 are of the kept round of ``runs`` samples, each
    the mean of ``loops`` inferences (more than 1 for a model faster than bench.mjs's MIN_SAMPLE_MS)."""

    mode: str  # execute, executeAsync or predict
    runs: int
    warmup: int
    rounds: int  # timed rounds run (more than 1 when the spread was too wide)
    init_ms: float  # tf.setBackend + tf.ready (wasm instantiation)
    load_ms: float  # tf.loadGraphModel / loadLayersModel over HTTP: model.json + shards
    first_ms: float  # the first inference: cold (shader compilation on webgl)
    median_ms: float
    p90_ms: float
    mad_ms: float  # median absolute deviation
    spread: float  # p90 / median
    resident_bytes: int  # tf.memory().numBytes after the timed runs (weights)
    peak_bytes: int  # the engine's peak during one profiled inference (weights + activations)
    kernel_total_ms: float
    kernels: tuple[KernelTime, ...]  # the slowest, by total time
    round_medians: tuple[float, ...] = ()
    reference_ms: float | None = None  # --calibrate: median of the fixed reference workload
    loops: int = 1  # inferences per timed sample
    process_medians: tuple[float, ...] = ()  # the median of each fresh process; the lowest one's figures are kept

    def in_reference(self, ms: float) -> float | None:
        """``ms`` as a multiple of the reference workload ("x" units), when calibrated."""
        return ms / self.reference_ms if self.reference_ms else None


@dataclass(frozen=True)
class ModelBench:
    fingerprint: str  # of the build measured (tfjs.lock); another build's figures are stale
    backends: dict[str, BackendBench]


@dataclass(frozen=True)
class Machine:
    """What timings depend on. Two records' timings compare only when these match (per backend)."""

    cpu: str
    cores: int
    os: str
    tfjs: str | None = None
    node: str | None = None  # runs cpu and wasm
    chromium: str | None = None  # runs webgl
    gl_renderer: str | None = None  # SwiftShader (software) or a GPU


# Which descriptor fields a backend's timings depend on.
_DEPENDS = {"cpu": ("cpu", "cores", "os", "tfjs", "node"), "wasm": ("cpu", "cores", "os", "tfjs", "node"),
            "webgl": ("cpu", "cores", "os", "tfjs", "chromium", "gl_renderer")}
_LABELS = {"cpu": "CPU", "cores": "cores", "os": "OS", "tfjs": "TF.js", "node": "Node.js", "chromium": "Chromium",
           "gl_renderer": "GL renderer"}


def machine_difference(here: Machine, there: Machine, backend: str) -> str | None:
    """Why ``backend`` timings measured on ``there`` do not compare with ``here``'s, or None when they do."""
    for name in _DEPENDS[backend]:
        mine, theirs = getattr(here, name), getattr(there, name)
        if mine != theirs:
            return f"{_LABELS[name]} differs ({theirs} there, {mine} here)"
    return None


@dataclass(frozen=True)
class BenchRecord:
    machine: Machine | None = None  # None: nothing benchmarked yet
    models: dict[str, ModelBench] = field(default_factory=dict)


def merge(old: BenchRecord, machine: Machine, measured: dict[str, ModelBench]) -> tuple[BenchRecord, str | None]:
    """``measured`` over ``old``: per model and backend, when ``old`` comes from the same kind of machine
    (a rebuilt model keeps none of its old figures); else ``measured`` alone, with a note saying why."""
    if old.machine is not None:
        known = replace(machine, **{f.name: getattr(old.machine, f.name) for f in fields(Machine)
                                    if getattr(machine, f.name) is None})
        differs = next(filter(None, (machine_difference(known, old.machine, b) for b in BACKENDS)), None)
        if differs:
            note = f"{BENCH_NAME} held figures of another machine ({differs}); this run replaces them"
            return BenchRecord(machine, dict(measured)), note
        machine = known
    models = dict(old.models)
    for name, bench in measured.items():
        before = models.get(name)
        kept = before.backends if before is not None and before.fingerprint == bench.fingerprint else {}
        models[name] = ModelBench(bench.fingerprint, {**kept, **bench.backends})
    return BenchRecord(machine, models), None


def parse_bench(text: str, where: str, fix: str = REPAIR) -> BenchRecord:
    """A record from its JSON text; ``where`` names it (a path, or the file at a git ref) in errors, ``fix`` the cure."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise TfjsBuildError(f"{where}: not a valid {BENCH_NAME} ({exc}); {fix}") from None
    if not isinstance(data, dict) or data.get("version") != BENCH_VERSION:
        raise TfjsBuildError(f"{where}: not a {BENCH_NAME} of version {BENCH_VERSION}; {fix}")
    body = {key: value for key, value in data.items() if key != "version"}
    try:
        record = from_data(BenchRecord, body)
    except ValueError as exc:
        raise TfjsBuildError(f"{where}: not a valid {BENCH_NAME} ({exc}); {fix}") from None
    for name, model in record.models.items():
        if unknown := sorted(model.backends.keys() - set(BACKENDS)):
            raise TfjsBuildError(f"{where}: models.{name}.backends: unknown backend {unknown[0]!r} "
                                 f"(expected {', '.join(BACKENDS)}); {fix}")
    return record


def read_bench(path: Path) -> BenchRecord:
    """The record at ``path``, or an empty one when there is none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return BenchRecord()
    except (OSError, UnicodeDecodeError) as exc:
        raise TfjsBuildError(f"{path}: cannot read {BENCH_NAME} ({exc}); {REPAIR}") from None
    return parse_bench(text, str(path))


def read_bench_at(ref: str, path: Path) -> BenchRecord | None:
    """The record at ``path`` as committed at git ``ref``; None when that commit has none."""
    from tfjs_build.engine.lock_at_ref import read_file_at

    found = read_file_at(ref, path)
    if found.text is None:
        return None
    return parse_bench(found.text, found.where, "pass another --base: a committed file cannot be repaired")


def render_bench(record: BenchRecord) -> str:
    data = {"version": BENCH_VERSION, **to_data(record)}
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_bench(path: Path, record: BenchRecord) -> None:
    atomic_write_text(path, render_bench(record))
