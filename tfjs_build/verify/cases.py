"""Differential measurement of many small TF computations: each frozen into a model, converted by
tfjs-build and run in real TF.js, all models of a backend in ONE TF.js process, against TensorFlow.

The generators of checked-in support tables (``scripts/gen_fusion_support.py``,
``scripts/gen_op_defects.py``) and their CI tests measure hundreds of cases this way; starting node
or Chromium per case would cost more than the cases. TensorFlow is imported inside the functions.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tfjs_build.verify.runner import TfjsRuntimeError, run_batch_in_tfjs

OUT_OF_BOUNDS = "out-of-bounds memory access"
WASM_OUT_OF_BOUNDS = re.compile(r"offset is out of bounds|memory access out of bounds")
TOLERANCE = 1e-4  # the project's bar: |tfjs - tf| <= 1e-4 * (1 + max|tf|)
Verdict = str | None  # None: matches TensorFlow; else what went wrong, briefly
Sample = tuple[Sequence[np.ndarray], Callable[..., Any]]  # inputs, and the TF function of them


@dataclass
class Case:
    """Independent instances (samples) of one computation, frozen together into one graph."""

    name: str
    graph: bytes
    inputs: dict[str, np.ndarray]  # by Placeholder name
    expected: dict[str, np.ndarray]  # TensorFlow's outputs, by output node name


@dataclass
class Converted:
    """A case converted for ``backends``: its model folder and signature key -> node name."""

    case: Case
    out_dir: Path
    keys: dict[str, str]
    backends: tuple[str, ...]

    def feeds(self) -> dict[str, np.ndarray]:
        return {key: self.case.inputs[node] for key, node in self.keys.items() if node in self.case.inputs}


def raw_op(name: str, *args: Any, **attrs: Any) -> Any:
    """``tf.raw_ops.<name>`` with its tensor inputs given in order (raw ops take keywords only)."""
    import inspect

    import tensorflow as tf

    op = getattr(tf.raw_ops, name)
    params = [p for p in inspect.signature(op).parameters if p not in attrs and p != "name"]
    return op(**dict(zip(params, args, strict=False)), **attrs)


def freeze_case(name: str, samples: Sequence[Sample]) -> Case:
    """One graph holding every sample (inputs ``x{sample}_{input}``), with TensorFlow's outputs."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    specs = [[tf.TensorSpec(x.shape, tf.as_dtype(x.dtype), name=f"x{i}_{j}") for j, x in enumerate(xs)]
             for i, (xs, _) in enumerate(samples)]
    counts = [len(xs) for xs, _ in samples]

    def everything(*ts: Any) -> list[Any]:
        starts = np.cumsum([0, *counts])
        return [fn(*ts[starts[i]:starts[i + 1]]) for i, (_, fn) in enumerate(samples)]

    flat_specs = [spec for group in specs for spec in group]
    concrete = tf.function(everything, autograph=False).get_concrete_function(*flat_specs)
    frozen = convert_variables_to_constants_v2(concrete)
    values = [x for xs, _ in samples for x in xs]
    expected = [y.numpy() for y in frozen(*(tf.constant(x) for x in values))]
    outputs = [t.name.split(":")[0] for t in frozen.outputs]
    return Case(name, frozen.graph.as_graph_def().SerializeToString(),
                {spec.name: x for spec, x in zip(flat_specs, values, strict=True)}, dict(zip(outputs, expected, strict=True)))


def convert_case(case: Case, project: Path, backends: Sequence[str]) -> Converted:
    """``case`` converted by tfjs-build (``convert_model``, as a build does) for ``backends``."""
    from tfjs_build.config import load_config
    from tfjs_build.convert import convert_model

    project.mkdir(parents=True)
    (project / "case.pb").write_bytes(case.graph)
    (project / "tfjs.yaml").write_text(
        f"version: 1\nmodels:\n  case:\n    source: case.pb\n    backends: [{', '.join(backends)}]\n"
        f"    outputs: [{', '.join(case.expected)}]\n", encoding="utf-8")
    model = load_config(project / "tfjs.yaml").model("case")
    if model.source_path is None:  # a local source always resolves to a path
        raise AssertionError(f"internal error: {project / 'case.pb'} did not resolve as a local source")
    out_dir = project / "out"
    out_dir.mkdir()
    try:
        convert_model(model, model.source_path, out_dir, project / "work")
    finally:
        shutil.rmtree(project / "work", ignore_errors=True)
    signature = json.loads((out_dir / "model.json").read_text(encoding="utf-8"))["signature"]
    keys = {key: info["name"].split(":")[0] for part in ("inputs", "outputs") for key, info in signature[part].items()}
    return Converted(case, out_dir, keys, tuple(backends))


def run_converted(converted: Sequence[Converted], backends: Sequence[str]) -> dict[str, list[Verdict | None]]:
    """Backend -> each case's verdict (None where the case was not built for that backend), one TF.js
    process per backend, backends in parallel."""

    def on(backend: str) -> list[Verdict | None]:
        chosen = [c for c in converted if backend in c.backends]
        results = iter(run_batch_in_tfjs([(c.out_dir, c.feeds()) for c in chosen], backend) if chosen else [])
        return [verdict(next(results), c.case.expected, c.keys) if backend in c.backends else None for c in converted]

    with ThreadPoolExecutor(len(backends)) as pool:
        return dict(zip(backends, pool.map(on, backends), strict=True))


def verdict(got: dict[str, np.ndarray] | TfjsRuntimeError, expected: dict[str, np.ndarray], keys: dict[str, str]) -> Verdict:
    """None when every output matches TensorFlow within the project's bar; else what went wrong, briefly."""
    if isinstance(got, TfjsRuntimeError):
        message = got.js_message.splitlines()[0][:200] if got.js_message else "?"
        # wasm reads past its memory with one message or another, depending on what lies there
        message = OUT_OF_BOUNDS if WASM_OUT_OF_BOUNDS.search(message) else message
        return f"TF.js failed to {got.stage}: {message}"
    errors = []
    for key, actual in sorted(got.items()):
        want = expected[keys[key]]
        if actual.shape != want.shape:
            return f"output shape {list(actual.shape)} instead of {list(want.shape)}"
        if (want.dtype.kind == "f") != (actual.dtype.kind == "f"):
            return f"{actual.dtype} output where TensorFlow's is {want.dtype}"
        if want.dtype.kind in "biu":
            if not np.array_equal(actual.astype(np.int64), want.astype(np.int64)):
                return "wrong values (integer or boolean output)"
            continue
        if np.isnan(actual).any() and not np.isnan(want).any():
            return "NaN in the output"
        finite = np.isfinite(want)
        if not np.array_equal(np.isfinite(actual), finite) or not np.array_equal(actual[~finite], want[~finite], equal_nan=True):
            return "infinities or NaNs differ"
        scale = 1.0 + float(np.max(np.abs(want[finite]), initial=0.0))
        errors.append(float(np.max(np.abs(actual[finite].astype(np.float64) - want[finite]), initial=0.0)) / scale)
    error = max(errors, default=0.0)
    return None if error <= TOLERANCE else f"error {error:.2g} x (1 + max|y|)"
