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


@pytest.fixture(scope="module")
def converted(convnet: tuple[Any, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The test convnet (every fusable activation, BNs, tanh, GELU) converted by tfjs-build."""
    from tfjs_build.convert import convert_model

    project = tmp_path_factory.mktemp("fused")
    convnet[0].save(project / "net.keras")
    (project / "tfjs.yaml").write_text(
        "version: 1\nmodels:\n  net:\n    source: net.keras\n    backends: [cpu, wasm]\n", encoding="utf-8"
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
        ["BiasAdd"], ["BiasAdd"], ["BiasAdd"], ["BiasAdd"], ["BiasAdd"],
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
    converted: tuple[Path, dict[str, Any]], convnet: tuple[Any, Any], image_batch: np.ndarray,
    chromium: str, assert_close: Callable,
) -> None:
    """webgl's fused activations come from its sources only (node cannot run it): check them in Chromium."""
    from tfjs_build.tfjs_runtime import run_in_tfjs

    out_dir, model_json = converted
    (key,) = model_json["signature"]["inputs"]
    (got,) = run_in_tfjs(out_dir, {key: image_batch}, "webgl", timeout=240).values()
    assert_close(got, convnet[0](image_batch, training=False).numpy(), rtol=1e-4)
