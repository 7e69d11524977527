"""Converted Keras 2 and Keras 3 models load with tf.loadLayersModel in real TF.js (node) and
compute what Keras computes, on cpu and wasm; they train (one fit step); quantized, split and
metadata outputs load too; conversion is byte-for-byte repeatable."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tfjs_build.convert.layers.weights import keras3_weights
from tfjs_build.tfjs_format.weights import read_weights
from tfjs_build.verify.runner import fit_in_tfjs

from . import models

ALL_FILES = [f"{name}{suffix}" for name in models.KERAS3_MODELS for suffix in (".keras", ".h5")] + [
    f"{name}.h5" for name in models.KERAS2_MODELS]

pytestmark = [pytest.mark.slow, pytest.mark.node]


@pytest.mark.parametrize("filename", ALL_FILES)
def test_predicts_like_keras_on_cpu_and_wasm(filename, saved, convert, run_tfjs, assert_close) -> None:
    model = saved[filename]
    converted = convert(model.path)
    for backend in ("cpu", "wasm"):
        got = run_tfjs(converted.out_dir, model.inputs, backend, format="layers")
        assert len(got) == len(model.outputs), f"{backend}: outputs {list(got)}"
        for value, expected in zip(got.values(), model.outputs, strict=True):
            assert_close(value, expected)


@pytest.mark.browser
@pytest.mark.parametrize("filename", ["cnn_functional.keras", "recurrent.h5", "zoo_dense.h5", "zoo_conv.keras",
                                      "normalized.keras", "hard_activations.keras", "keras2_normalized.h5"])
def test_predicts_like_keras_on_webgl(filename, saved, convert, chromium, run_tfjs, assert_close) -> None:
    model = saved[filename]
    got = run_tfjs(convert(model.path).out_dir, model.inputs, "webgl", format="layers")
    for value, expected in zip(got.values(), model.outputs, strict=True):
        assert_close(value, expected)


def test_topology_is_keras2_style(saved, convert) -> None:
    data = json.loads((convert(saved["multi_io_nested.keras"].path).out_dir / "model.json").read_text())
    assert data["format"] == "layers-model"
    config = data["modelTopology"]["model_config"]["config"]
    by_name = {layer["name"]: layer for layer in config["layers"]}
    assert by_name["a"]["config"]["batch_input_shape"] == [None, 6]
    assert by_name["shared"]["config"]["dtype"] == "float32"
    assert by_name["shared"]["config"]["kernel_initializer"] == {"class_name": "GlorotUniform", "config": {"seed": None}}
    assert by_name["shared"]["inbound_nodes"] == [[["a", 0, 0, {}]], [["b", 0, 0, {}]]]
    # calls of a nested model count from 1 in tfjs (node 0 is the model's own)
    assert by_name["seq"]["inbound_nodes"] == [[["inner", 3, 0, {}]]]
    assert config["output_layers"] == [["probs", 0, 0], ["soft", 0, 0]]


def test_one_fit_step_trains_in_tfjs(saved, convert, tfjs_available) -> None:
    model = saved["cnn_functional.keras"]
    converted = convert(model.path)
    targets = {"probs": np.eye(3, dtype=np.float32)[[0, 2]]}
    fit = fit_in_tfjs(converted.out_dir, model.inputs, targets, "cpu", loss="categoricalCrossentropy",
                      learning_rate=0.05)
    # every weight is a variable of the tfjs model, written in tfjs model.weights order (trainable first)
    assert list(fit.weights) == [w.name for w in converted.result.weights]
    assert list(fit.weights)[-2:] == ["bn/moving_mean", "bn/moving_variance"]
    assert fit.loss_after < fit.loss_before
    before = {w.name: w.value for w in keras3_weights(model.model)}
    assert not np.allclose(fit.weights["probs/kernel"], before["probs/kernel"])


def test_quantized_split_with_metadata_matches_keras_on_dequantized_weights(
        saved, convert, run_tfjs, assert_close) -> None:
    model = saved["cnn_functional.keras"]
    converted = convert(model.path, "quantize: uint8\nsplit_weights_by_layer: true\nmetadata:\n  labels: labels.json",
                        files={"labels.json": '{"classes": ["cat", "dog", "bird"]}'})
    data = json.loads((converted.out_dir / "model.json").read_text())
    assert data["userDefinedMetadata"] == {"labels": {"classes": ["cat", "dog", "bird"]}}
    groups = data["weightsManifest"]
    assert [{w["name"].split("/")[0] for w in g["weights"]} for g in groups] == [
        {"conv"}, {"bn"}, {"dw"}, {"sep"}, {"probs"}]
    assert all(w["quantization"]["dtype"] == "uint8" for g in groups for w in g["weights"])
    assert converted.result.accuracy is not None and converted.result.accuracy.samples == 8
    assert 0 < converted.result.accuracy.max_rel_error < 0.2

    dequantized = dict(read_weights(converted.out_dir, groups))
    variables = {w.name: w.variable for w in keras3_weights(model.model)}
    originals = {name: np.array(v.numpy()) for name, v in variables.items()}
    try:
        for name, value in dequantized.items():
            variables[name].assign(value)
        expected = np.asarray(model.model.predict(model.inputs["image"], verbose=0))
    finally:
        for name, value in originals.items():
            variables[name].assign(value)
    got = run_tfjs(converted.out_dir, model.inputs, "wasm", format="layers")
    assert_close(got["probs"], expected)


def test_quantized_keras2_model_gets_accuracy_figures(saved, convert, run_tfjs, assert_close) -> None:
    model = saved["keras2.h5"]
    converted = convert(model.path, "quantize: uint16")
    accuracy = converted.result.accuracy
    assert accuracy is not None and 0 < accuracy.max_rel_error < 1e-3, accuracy
    config = json.loads((converted.out_dir / "model.json").read_text())["modelTopology"]["model_config"]
    assert [layer["config"]["axis"] for layer in config["config"]["layers"]
            if layer["class_name"] == "BatchNormalization"] == [1]
    got = run_tfjs(converted.out_dir, model.inputs, "cpu", format="layers")
    assert_close(got["out"], model.outputs[0], rtol=1e-2)


def test_layer_broken_on_wasm_converts_only_without_wasm(convert, run_tfjs, assert_close, tmp_path) -> None:
    from .conftest import converts_only_on, predict, randomize, sample_feeds

    keras_model = models.conv3d_transpose()
    randomize(keras_model, 7)
    refusal = (r"layer 'up' \(Conv3DTranspose\): TF.js 4.22.0's wasm backend computes Conv3DTranspose wrongly.*"
               r"Fix: remove wasm from \S*tfjs.yaml:\d+:\d+: models.m.backends, or replace the layer")
    converted = converts_only_on(convert, keras_model, tmp_path, refusal, "cpu, webgl")
    feeds = sample_feeds(keras_model, 7)
    assert_close(run_tfjs(converted.out_dir, feeds, "cpu", format="layers")["up"], predict(keras_model, feeds)[0])


def test_same_source_gives_byte_identical_output(saved, convert) -> None:
    source = saved["recurrent.keras"].path
    first, second = convert(source, name="one"), convert(source, name="two")
    files = sorted(p.name for p in first.out_dir.iterdir())
    assert files == sorted(p.name for p in second.out_dir.iterdir()) and "model.json" in files
    for name in files:
        assert (first.out_dir / name).read_bytes() == (second.out_dir / name).read_bytes(), name
