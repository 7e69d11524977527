"""The accuracy gate's figures agree with what TF.js itself computes.

A tiny Keras classifier is converted (layers and graph) with each quantization dtype by the real
``convert_model``; its reported figures (TensorFlow with the dequantized weights vs the
float model) are compared with the figures of TF.js's own outputs on the same inputs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tfjs_build.checks.accuracy import compare_outputs, sample_inputs
from tfjs_build.config import load_config
from tfjs_build.convert.result import AccuracyFigures

pytestmark = [pytest.mark.slow, pytest.mark.node]
SAMPLES = 6


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(4)
    features = keras.Input((12,), name="features")
    hidden = keras.layers.Dense(24, activation="relu", name="hidden")(features)
    probs = keras.layers.Dense(6, activation="softmax", name="probs")(hidden)
    net = keras.Model(features, probs)
    path = tmp_path_factory.mktemp("classifier") / "classifier.keras"
    net.save(path)
    return path, net


def _convert(project: Path, source: Path, dtype: str, fmt: str) -> tuple[Path, AccuracyFigures]:
    from tfjs_build.convert import convert_model

    project.mkdir()
    (project / source.name).write_bytes(source.read_bytes())
    (project / "tfjs.yaml").write_text(
        f"version: 1\nmodels:\n  net:\n    source: {source.name}\n    format: {fmt}\n"
        f"    quantize: {dtype}\n    accuracy:\n      samples: {SAMPLES}\n")
    model = load_config(project / "tfjs.yaml").model("net")
    out_dir, work_dir = project / "out", project / "work"
    out_dir.mkdir()
    work_dir.mkdir()
    result = convert_model(model, project / source.name, out_dir, work_dir)
    assert result.accuracy is not None
    return out_dir, result.accuracy


def _output_key(out_dir: Path, fmt: str) -> str:
    """The key TF.js returns the output under: the output layer's name, or the signature key."""
    if fmt == "layers":
        return "probs"
    (key,) = json.loads((out_dir / "model.json").read_text())["signature"]["outputs"]
    return key


@pytest.mark.parametrize("fmt", ["layers", "graph"])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float16"])
def test_reported_figures_match_tfjs(
    tmp_path: Path, classifier: tuple[Path, Any], dtype: str, fmt: str, run_tfjs: Callable[..., dict[str, np.ndarray]]
) -> None:
    source, net = classifier
    out_dir, reported = _convert(tmp_path / "project", source, dtype, fmt)
    assert reported.samples == SAMPLES
    samples = sample_inputs([("features", "float32", (None, 12))], SAMPLES)  # what the gate generated
    reference = [{"probs": np.asarray(net(s["features"], training=False))} for s in samples]
    batch = {"features": np.concatenate([s["features"] for s in samples])}  # one TF.js run for all samples
    rows = run_tfjs(out_dir, batch, "cpu", format=fmt)[_output_key(out_dir, fmt)]
    in_tfjs = [{"probs": rows[i:i + 1]} for i in range(SAMPLES)]
    measured = compare_outputs(reference, in_tfjs)

    assert reported.max_abs_error > 0  # the weights really were quantized
    # TF.js's float32 kernels differ from TensorFlow's by ~1e-7: far below the quantization error.
    assert measured.max_abs_error == pytest.approx(reported.max_abs_error, rel=0.02, abs=1e-6)
    assert measured.max_rel_error == pytest.approx(reported.max_rel_error, rel=0.02, abs=1e-6)
    assert measured.top1_agreement == reported.top1_agreement
    for ref, got in zip(reference, in_tfjs, strict=True):  # TF.js is within the reported error of the float model
        assert np.max(np.abs(got["probs"] - ref["probs"])) <= reported.max_abs_error * 1.02 + 1e-6
