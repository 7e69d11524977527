"""Op support in `check`: unsupported ops and unproven fusions per backend, named by node."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from projects import Project, entry

from tfjs_build.checks import fusion_support as fs
from tfjs_build.engine.lockfile import OutputFile


def _fused(name: str, op: str, *fused: str) -> dict:
    encoded = [base64.b64encode(f.encode()).decode() for f in fused]
    return {"name": name, "op": op, "attr": {"fused_ops": {"list": {"s": encoded}}}}


NODES = [
    {"name": "x", "op": "Placeholder"},
    _fused("block/conv", "_FusedConv2D", "BiasAdd", "Tanh"),
    _fused("block/conv2", "_FusedConv2D", "BiasAdd", "Relu"),
    {"name": "gelu/Erfc", "op": "Erfc"},
    {"name": "gelu2/Erfc", "op": "Erfc"},
    {"name": "out", "op": "Identity"},
]
OPS = ("Erfc", "Identity", "Placeholder", "_FusedConv2D")


@pytest.fixture
def gelu(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.chdir(project.root)
    project.write_models("gelu", keys="backends: [cpu, wasm]")
    return project


def _write_model_json(project: Project, nodes: list[dict]) -> OutputFile:
    folder = project.root / "dist" / "tfjs" / "gelu"
    folder.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": []})
    (folder / "model.json").write_text(data, encoding="utf-8")
    return OutputFile("model.json", len(data), hashlib.sha256(data.encode()).hexdigest())


def _failures(out: str) -> list[str]:
    return [line.removeprefix("FAIL ") for line in out.splitlines() if line.startswith("FAIL ")]


def test_unsupported_ops_and_unproven_fusions_are_named_by_node(gelu: Project) -> None:
    written = _write_model_json(gelu, NODES)
    gelu.write_lock({"gelu": entry(ops=OPS, files=(written,))})
    code, out = gelu.run("check")
    failed = fs.load().failed
    tanh = "_FusedConv2D/tanh/bias"
    assert code == 1
    assert _failures(out) == [
        "tfjs.yaml:5:15: models.gelu.backends: Erfc (used by gelu/Erfc, gelu2/Erfc) cannot run on cpu, wasm "
        "in TF.js 4.22.0 (TF.js's graph-model converter has no such op); change the model to avoid it, "
        "or drop cpu, wasm from backends",
        "tfjs.yaml:5:15: models.gelu.backends: _FusedConv2D + tanh (used by block/conv) is not proven to compute "
        f"like TensorFlow on cpu, wasm in TF.js 4.22.0 (cpu: {failed['cpu'][tanh]}; wasm: {failed['wasm'][tanh]}); "
        "rebuild with `tfjs-build build gelu --force`, which keeps that fusion apart",
    ]


def test_supported_model_passes(gelu: Project) -> None:
    nodes = [node for node in NODES if node["op"] != "Erfc" and node["name"] != "block/conv"]
    written = _write_model_json(gelu, nodes)
    gelu.write_lock({"gelu": entry(ops=("Identity", "Placeholder", "_FusedConv2D"), files=(written,))})
    code, out = gelu.run("check")
    assert (code, _failures(out)) == (0, [])


def test_without_model_json_ops_come_from_the_lock(gelu: Project) -> None:
    gelu.write_lock({"gelu": entry(ops=OPS)})
    code, out = gelu.run("check", "--json")
    data = json.loads(out)["models"][0]
    assert code == 1
    assert data["unsupported"] == [{"op": "Erfc", "backends": ["cpu", "wasm"], "nodes": [],
                                    "reason": "TF.js's graph-model converter has no such op"}]
    assert data["notes"] == ["gelu: no model.json at dist/tfjs/gelu to name the nodes; "
                             "run `tfjs-build build gelu` to see them"]


def test_layers_models_are_not_checked_against_graph_ops(gelu: Project) -> None:
    gelu.write_lock({"gelu": entry(ops=("Dense", "Erfc"), fmt="layers")})
    assert gelu.run("check")[0] == 0


def test_outputs_that_differ_from_the_lock_fail(gelu: Project) -> None:
    written = _write_model_json(gelu, NODES[:1])
    shard = OutputFile("group1-shard1of1.bin", 400, "0" * 64)
    stale = OutputFile("model.json", written.size + 1, written.sha256)
    gelu.write_lock({"gelu": entry(ops=("Placeholder",), files=(stale, shard))})
    code, out = gelu.run("check")
    assert code == 1
    assert _failures(out) == [
        "dist/tfjs/gelu: model.json, group1-shard1of1.bin missing or not as recorded in tfjs.lock; "
        "run `tfjs-build build gelu` to rebuild them"]
