"""Differential testing of rewrites in batches: many small cases in ONE converted model, run once per backend.

Each case is a TF computation with its own inputs and one output; all of them are frozen into one
GraphDef, converted by tfjs-build for the given backends, and TensorFlow's outputs of the original
graph (not of the rewritten one) are the reference. One TF.js process per backend runs every case.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tfjs_build.config import load_config

from .graphs import freeze, run_graph

TOLERANCE = 1e-4  # the project's bar: |tfjs - tf| <= 1e-4 * (1 + max|tf|)


@dataclass
class Batch:
    out_dir: Path
    model_json: dict[str, Any]
    result: Any  # ConvertResult
    inputs: dict[str, np.ndarray]  # by signature key
    expected: dict[str, np.ndarray]  # by signature output key
    labels: dict[str, str]  # signature output key -> what the case is


def convert_frozen(project: Path, graph_def: Any, outputs: Sequence[str], backends: str) -> tuple[Path, dict, Any]:
    """Write ``graph_def`` as a frozen graph and convert it with tfjs-build: (out dir, model.json, result)."""
    from tfjs_build.convert import convert_model

    (project / "cases.pb").write_bytes(graph_def.SerializeToString())
    (project / "tfjs.yaml").write_text(
        f"version: 1\nmodels:\n  cases:\n    source: cases.pb\n    backends: {backends}\n"
        f"    outputs: [{', '.join(outputs)}]\n", encoding="utf-8",
    )
    model = load_config(project / "tfjs.yaml").model("cases")
    out_dir = project / "out"
    out_dir.mkdir()
    try:
        result = convert_model(model, model.source_path, out_dir, project / "work")
    finally:
        shutil.rmtree(project / "work", ignore_errors=True)
    return out_dir, json.loads((out_dir / "model.json").read_text(encoding="utf-8")), result


def build_batch(
    project: Path, fn: Callable[..., list[Any]], specs: Sequence[Any], feeds: Sequence[np.ndarray],
    labels: Sequence[str], backends: str = "[cpu, wasm, webgl]",
) -> Batch:
    """Freeze ``fn`` (inputs ``specs``, one output per label), convert it, and compute TF's outputs."""
    frozen = freeze(fn, specs, grappler=False)
    expected = run_graph(frozen.graph_def, dict(zip(frozen.inputs, feeds, strict=True)), frozen.outputs)
    out_dir, model_json, result = convert_frozen(project, frozen.graph_def, frozen.output_nodes, backends)
    signature = model_json["signature"]
    input_keys = {info["name"]: key for key, info in signature["inputs"].items()}
    output_keys = {info["name"].split(":")[0]: key for key, info in signature["outputs"].items()}
    return Batch(
        out_dir=out_dir,
        model_json=model_json,
        result=result,
        inputs={input_keys[name]: feed for name, feed in zip(frozen.inputs, feeds, strict=True)},
        expected={output_keys[node]: value for node, value in zip(frozen.output_nodes, expected, strict=True)},
        labels={output_keys[node]: label for node, label in zip(frozen.output_nodes, labels, strict=True)},
    )


def mismatches(batch: Batch, got: dict[str, np.ndarray]) -> list[str]:
    """One line per case whose TF.js output differs from TF's beyond the tolerance (or in shape)."""
    lines = []
    for key, want in batch.expected.items():
        have = np.asarray(got[key])
        bound = TOLERANCE * (1.0 + float(np.max(np.abs(want), initial=0.0)))
        error = float(np.max(np.abs(have.astype(np.float64) - want), initial=0.0)) if have.shape == want.shape else None
        if error is None or not error <= bound:
            lines.append(f"{batch.labels[key]}: shape {have.shape} vs {want.shape}, max error {error} > {bound:.3g}")
    return lines


def model_ops(model_json: dict[str, Any]) -> list[str]:
    return [node["op"] for node in model_json["modelTopology"]["node"]]
