"""Folded and fused graphs run in real TF.js (node, cpu and wasm) and match TensorFlow."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tfjs_build.config import load_config

pytestmark = [pytest.mark.slow, pytest.mark.node]
REWRITTEN_IN_TFJS = ("Erfc", "Softsign", "Xlogy", "Xdivy", "Inv", "Rint")


def convert_project(project: Path, source: str, extra: str = "", backends: str = "cpu, wasm") -> tuple[Path, dict[str, Any]]:
    """Convert ``source`` (in ``project``) with tfjs-build for ``backends``: (out dir, model.json)."""
    from tfjs_build.convert import convert_model

    (project / "tfjs.yaml").write_text(
        f"version: 1\nmodels:\n  net:\n    source: {source}\n    backends: [{backends}]\n{extra}", encoding="utf-8"
    )
    model = load_config(project / "tfjs.yaml").model("net")
    out_dir = project / "out"
    out_dir.mkdir()
    work = project / "work"
    try:
        convert_model(model, model.source_path, out_dir, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out_dir, json.loads((out_dir / "model.json").read_text(encoding="utf-8"))


def convert_keras(net: Any, tmp_path_factory: pytest.TempPathFactory, backends: str = "cpu, wasm") -> tuple[Path, dict[str, Any]]:
    project = tmp_path_factory.mktemp("keras")
    net.save(project / "net.keras")
    return convert_project(project, "net.keras", backends=backends)


def model_ops(model_json: dict[str, Any]) -> list[str]:
    return [node["op"] for node in model_json["modelTopology"]["node"]]


@pytest.fixture(scope="module")
def converted(convnet: tuple[Any, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The test convnet (every fusable activation, BNs, tanh, GELU) converted by tfjs-build."""
    return convert_keras(convnet[0], tmp_path_factory)


def test_model_json_carries_the_fusions(converted: tuple[Path, dict[str, Any]]) -> None:
    _, model_json = converted
    fused = sorted(
        [base64.b64decode(s).decode() for s in node["attr"]["fused_ops"]["list"]["s"]]
        for node in model_json["modelTopology"]["node"]
        if node["op"] in ("_FusedConv2D", "FusedDepthwiseConv2dNative", "_FusedMatMul")
    )
    assert fused == sorted([
        ["BiasAdd", "Relu"], ["BiasAdd", "Relu6"], ["BiasAdd", "Sigmoid"], ["BiasAdd", "Elu"],
        ["BiasAdd", "LeakyRelu"], ["BiasAdd", "Relu"], ["BiasAdd", "Prelu"], ["BiasAdd", "Prelu"],
        ["BiasAdd", "Prelu"], ["BiasAdd"], ["BiasAdd"], ["BiasAdd"], ["BiasAdd"],
    ])
    assert {"Tanh", "Erf"} <= {node["op"] for node in model_json["modelTopology"]["node"]}


@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_fused_model_matches_tensorflow_in_tfjs(
    converted: tuple[Path, dict[str, Any]], convnet: tuple[Any, Any], image_batch: np.ndarray,
    backend: str, run_tfjs: Callable, assert_close: Callable,
) -> None:
    out_dir, model_json = converted
    (key,) = model_json["signature"]["inputs"]
    outputs = run_tfjs(out_dir, {key: image_batch}, backend)
    (got,) = outputs.values()
    assert_close(got, convnet[0](image_batch, training=False).numpy(), rtol=1e-4)


@pytest.mark.browser
def test_fused_model_matches_tensorflow_on_webgl(
    convnet: tuple[Any, Any], image_batch: np.ndarray, chromium: str, assert_close: Callable,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Built for webgl too: the fusions webgl computes wrongly (a per-position PReLU after a 1x1 conv of
    odd width, see fusion_support.json) stay apart, and the rest runs right in Chromium."""
    from tfjs_build.verify.runner import run_in_tfjs

    out_dir, model_json = convert_keras(convnet[0], tmp_path_factory, "cpu, wasm, webgl")
    (key,) = model_json["signature"]["inputs"]
    (got,) = run_in_tfjs(out_dir, {key: image_batch}, "webgl", timeout=240).values()
    assert_close(got, convnet[0](image_batch, training=False).numpy(), rtol=1e-4)


@pytest.fixture(scope="module")
def rewritten(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], dict[str, np.ndarray], dict]:
    """A frozen graph of every op tfjs-build rewrites, converted; with TensorFlow's outputs on edge-case inputs."""
    import tensorflow as tf

    from .graphs import freeze, run_graph

    def fn(x: tf.Tensor, y: tf.Tensor) -> list[tf.Tensor]:
        return [
            tf.math.erfc(x), tf.math.softsign(x), tf.math.xlogy(x, y), tf.math.xdivy(x, y), tf.raw_ops.Inv(x=y),
            tf.math.rint(x),
        ]

    spec = tf.TensorSpec([12], tf.float32)
    frozen = freeze(fn, [spec, spec], grappler=False)
    project = tmp_path_factory.mktemp("rewritten")
    (project / "ops.pb").write_bytes(frozen.graph_def.SerializeToString())
    out_dir, model_json = convert_project(project, "ops.pb", f"    outputs: [{', '.join(frozen.output_nodes)}]\n")
    x = np.array([0.0, -0.0, 0.5, 1.5, 2.5, -2.5, -3.7, 3.9, 1e-3, -8.0, 8.0, 0.0], np.float32)
    y = np.array([2.0, 0.0, 0.3, 1.0, 4.0, 0.1, 5.0, 0.5, 7.0, 1.0, 3.0, 0.0], np.float32)
    results = run_graph(frozen.graph_def, dict(zip(frozen.inputs, (x, y), strict=True)), frozen.outputs)
    expected = dict(zip(frozen.output_nodes, zip(REWRITTEN_IN_TFJS, results, strict=True), strict=True))
    return out_dir, model_json, {"x": x, "y": y}, expected


@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_rewritten_ops_match_tensorflow_in_tfjs(rewritten: Any, backend: str, run_tfjs: Callable) -> None:
    out_dir, model_json, inputs, expected = rewritten
    assert not set(REWRITTEN_IN_TFJS) & set(model_ops(model_json))
    keys = {info["name"].split(":")[0]: key for key, info in model_json["signature"]["inputs"].items()}
    got = run_tfjs(out_dir, {keys[name]: value for name, value in (("x", inputs["x"]), ("y", inputs["y"]))}, backend)
    by_node = {info["name"].split(":")[0]: got[key] for key, info in model_json["signature"]["outputs"].items()}
    assert set(by_node) == set(expected)
    for name, (op, want) in expected.items():
        # Erfc: 1 - erf(x), with TF.js's own erf approximation: equal to ~1e-7 absolute, not relative.
        np.testing.assert_allclose(by_node[name], want, rtol=1e-6, atol=2e-7 if op == "Erfc" else 0, err_msg=op)


@pytest.fixture(scope="module")
def attention(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Any, np.ndarray]:
    """Keras MultiHeadAttention (its Einsums have no wasm kernel in TF.js 4.22), converted for cpu and wasm."""
    import keras

    from .graphs import randomize

    tokens = keras.Input((5, 8), name="tokens")
    x = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(tokens, tokens)
    net = keras.Model(tokens, keras.layers.LayerNormalization(name="norm")(x + tokens))
    randomize(net, seed=2)
    out_dir, model_json = convert_keras(net, tmp_path_factory)
    return out_dir, model_json, net, np.random.default_rng(3).normal(size=(2, 5, 8)).astype(np.float32)


@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_keras_attention_runs_on_wasm_without_einsum(
    attention: Any, backend: str, run_tfjs: Callable, assert_close: Callable
) -> None:
    out_dir, model_json, net, tokens = attention
    ops_used = set(model_ops(model_json))
    assert "Einsum" not in ops_used and "BatchMatMulV2" in ops_used
    (key,) = model_json["signature"]["inputs"]
    (got,) = run_tfjs(out_dir, {key: tokens}, backend).values()
    assert_close(got, net(tokens).numpy(), rtol=1e-4)


@pytest.fixture(scope="module")
def conv1d(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Any, np.ndarray]:
    """Conv1D + BN + ReLU and a causal Conv1D: their Squeeze moves so they fold and fuse."""
    from .conftest import build_conv1d
    from .graphs import randomize

    net = build_conv1d()
    randomize(net, seed=4)
    out_dir, model_json = convert_keras(net, tmp_path_factory)
    return out_dir, model_json, net, np.random.default_rng(5).normal(size=(2, 10, 4)).astype(np.float32)


@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_conv1d_folds_fuses_and_matches_in_tfjs(conv1d: Any, backend: str, run_tfjs: Callable, assert_close: Callable) -> None:
    out_dir, model_json, net, signal = conv1d
    used = model_ops(model_json)
    assert used.count("_FusedConv2D") == 2 and used.count("Squeeze") == 2
    assert not {"Conv2D", "BiasAdd", "Relu", "Mul", "AddV2"} & set(used)
    (key,) = model_json["signature"]["inputs"]
    (got,) = run_tfjs(out_dir, {key: signal}, backend).values()
    assert_close(got, net(signal).numpy(), rtol=1e-4)
