"""Layers tfjs-layers lacks, rewritten into layers it has (Normalization -> per-channel Rescaling; hard_silu,
hard_swish and Keras 3's hard_sigmoid -> Rescaling, ReLU, Multiply; keepdims pooling -> pooling + Reshape;
x + c, c - x, x * c -> Rescaling): TF.js computes what Keras computes on cpu and wasm (webgl in
Chromium), the result still trains, and refusals say what TF.js really does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tfjs_build.errors import UnsupportedModelError
from tfjs_build.verify.runner import fit_in_tfjs

from . import models
from .conftest import converts_only_on, predict, sample_feeds

pytestmark = [pytest.mark.slow, pytest.mark.node]
APPLICATIONS = ("MobileNetV3Small", "EfficientNetB0")
VARIANCES = [0.0, 1e-20, 1e-14, 4e-14, 1e-9, 1e-3, 1.0, 1e4]


@pytest.fixture(scope="module")
def applications(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, np.ndarray], Any]]:
    """Each keras.applications model saved as .keras, a batch of two images and the Keras outputs."""
    folder, found = tmp_path_factory.mktemp("applications"), {}
    for name in APPLICATIONS:
        model = models.application(name)
        path = folder / f"{name}.keras"
        model.save(path)
        feeds = {model.inputs[0]._keras_history[0].name:
                 np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)}
        found[name] = (path, feeds, predict(model, feeds))
    return found


@pytest.mark.parametrize("name", APPLICATIONS)
def test_keras_applications_predict_like_keras_on_cpu_and_wasm(name, applications, convert, run_tfjs,
                                                               assert_close) -> None:
    path, feeds, expected = applications[name]
    converted = convert(path, name=name.lower())
    for backend in ("cpu", "wasm"):
        got = run_tfjs(converted.out_dir, feeds, backend, format="layers")
        assert len(got) == len(expected), f"{backend}: outputs {list(got)}"
        for value, want in zip(got.values(), expected, strict=True):
            assert_close(value, want)


@pytest.mark.browser
@pytest.mark.parametrize("name", APPLICATIONS)
def test_keras_applications_predict_like_keras_on_webgl(name, applications, convert, chromium, run_tfjs,
                                                        assert_close) -> None:
    path, feeds, expected = applications[name]
    got = run_tfjs(convert(path, name=name.lower()).out_dir, feeds, "webgl", format="layers")
    for value, want in zip(got.values(), expected, strict=True):
        assert_close(value, want)


def _normalization_model() -> Any:
    """Every variance regime Keras' max(sqrt(variance), 1e-7) has: zero, below, at and above 1e-14, large;
    per channel, inverted, and over two axes (one mean and variance per position: Keras 3 only)."""
    import keras

    mean = np.linspace(-2.0, 3.0, len(VARIANCES)).tolist()
    inp = keras.Input((3, len(VARIANCES)), name="x")
    plain = keras.layers.Normalization(mean=mean, variance=VARIANCES, name="plain")(inp)
    inverted = keras.layers.Normalization(mean=mean, variance=VARIANCES, invert=True, name="inverted")(inp)
    per_position = keras.layers.Normalization(axis=(1, 2), mean=[mean] * 3, variance=[VARIANCES[::-1]] * 3,
                                              name="per_position")(inp)
    return keras.Model(inp, [plain, inverted, per_position])


def test_normalization_matches_keras_within_float_rounding_per_channel(convert, run_tfjs, assert_close,
                                                                      tmp_path) -> None:
    """Channel by channel, at 1e-6 (float32 rounding is 6e-8), not only relative to the largest output (1e7
    here, for the channel of variance 0, which would hide any error in the others)."""
    keras_model = _normalization_model()
    source = tmp_path / "normalization.keras"
    keras_model.save(source)
    converted = convert(source)
    x = np.random.default_rng(1).normal(0.0, 2.0, (4, 3, len(VARIANCES))).astype(np.float32)
    x[0, 0] = np.linspace(-2.0, 3.0, len(VARIANCES))  # exactly the means: 0 / 1e-7 must stay 0
    expected = predict(keras_model, {"x": x})
    for backend in ("cpu", "wasm"):
        got = list(run_tfjs(converted.out_dir, {"x": x}, backend, format="layers").values())
        assert len(got) == len(expected)
        for value, want in zip(got, expected, strict=True):
            for channel in range(len(VARIANCES)):
                assert_close(value[..., channel], want[..., channel], rtol=1e-6)


def test_rewritten_layers_train_in_tfjs(saved, convert) -> None:
    """One fit step lowers the loss through every added layer (gradients reach the convolution before the
    hard_swish chain, and the Dense layer after the Normalizations, whose statistics are options, not weights:
    a BatchNormalization in their place would normalize by each batch's own statistics in fit)."""
    model = saved["hard_activations.keras"]
    converted = convert(model.path)
    targets = {name: np.zeros_like(value) for name, value in zip(("out", "peak"), model.outputs, strict=True)}
    fit = fit_in_tfjs(converted.out_dir, model.inputs, targets, "cpu", learning_rate=0.05)
    assert fit.loss_after < fit.loss_before
    assert not np.allclose(fit.weights["conv/kernel"], np.asarray(model.model.get_layer("conv").kernel))

    normalized = saved["normalized.keras"]
    converted = convert(normalized.path, name="normalized")
    fit = fit_in_tfjs(converted.out_dir, normalized.inputs, {"head": np.zeros_like(normalized.outputs[0])}, "cpu",
                      learning_rate=0.001)  # inputs scaled by up to 1/sqrt(0.01): a larger step overshoots
    assert fit.loss_after < fit.loss_before
    assert sorted(fit.weights) == ["head/bias", "head/kernel"]


def _scalar_ops_model() -> Any:
    import keras

    inp = keras.Input((5,), name="x")
    y = keras.layers.Dense(5, name="d")(inp)
    z = keras.layers.Concatenate(name="cat")([y + 3.0, 2.5 - y, y * (1.0 / 6.0), 0.5 * y, y - 1])
    return keras.Model(inp, keras.layers.Dense(2, name="out")(keras.layers.ReLU(6.0, name="clip")(z)))


def test_keras3_scalar_op_layers_become_rescaling(convert, run_tfjs, assert_close, tmp_path) -> None:
    keras_model = _scalar_ops_model()
    source = tmp_path / "ops.keras"
    keras_model.save(source)
    converted = convert(source)
    layers = json.loads((converted.out_dir / "model.json").read_text())["modelTopology"]["model_config"]["config"]
    rescaling = sorted((layer["config"]["scale"], layer["config"]["offset"]) for layer in layers["layers"]
                       if layer["class_name"] == "Rescaling")
    assert rescaling == sorted([(1.0, 3.0), (-1.0, 2.5), (1.0 / 6.0, 0.0), (0.5, 0.0), (1.0, -1.0)])
    feeds = sample_feeds(keras_model, 3)
    for backend in ("cpu", "wasm"):
        assert_close(run_tfjs(converted.out_dir, feeds, backend, format="layers")["out"],
                     predict(keras_model, feeds)[0])


def test_bilinear_upsampling_refusal_says_what_tfjs_computes(saved, convert, run_tfjs, assert_close,
                                                             tmp_path) -> None:
    """The refusal's reason, measured: tfjs-layers' bilinear UpSampling2D is TF's resize without half-pixel
    centers, and Keras' (with them) differs from it by far more than the accuracy bar."""
    import keras
    import tensorflow as tf

    def upsampling(interpolation: str) -> Any:
        return keras.Sequential([keras.Input((4, 5, 2), name="x"),
                                 keras.layers.UpSampling2D(2, interpolation=interpolation, name="up")])

    source = tmp_path / "nearest.keras"
    upsampling("nearest").save(source)
    converted = convert(source)
    path = converted.out_dir / "model.json"
    data = json.loads(path.read_text())
    data["modelTopology"]["model_config"]["config"]["layers"][-1]["config"]["interpolation"] = "bilinear"
    path.write_text(json.dumps(data))  # what the converter would write if it let bilinear through
    x = np.random.default_rng(2).normal(size=(1, 4, 5, 2)).astype(np.float32)
    got = run_tfjs(converted.out_dir, {"x": x}, "cpu", format="layers")["up"]
    assert_close(got, tf.compat.v1.image.resize_bilinear(x, (8, 10), half_pixel_centers=False).numpy())
    keras_bilinear = np.asarray(upsampling("bilinear")(x))
    assert np.max(np.abs(got - keras_bilinear)) > 100 * 1e-4 * (1 + np.max(np.abs(keras_bilinear)))
    with pytest.raises(UnsupportedModelError, match="without half-pixel centers"):
        source = tmp_path / "bilinear.keras"
        upsampling("bilinear").save(source)
        convert(source, name="bilinear")


def _axis1_batch_norm_model() -> Any:
    import keras

    from .conftest import randomize

    inp = keras.Input((5, 4), name="x")
    model = keras.Model(inp, keras.layers.BatchNormalization(axis=1, name="bn")(inp))
    randomize(model, 4)
    return model


def test_batch_norm_on_a_middle_axis_is_refused_for_cpu_and_wasm(convert, tmp_path) -> None:
    """TF.js 4.22's cpu and wasm batchNorm kernels walk the statistics along the last axis whatever their shape
    (measured: off by O(1) for axis 1 of a rank-3 input), so only webgl may run it."""
    refusal = (r"layer 'bn' \(BatchNormalization\): normalizes along axis 1 of a rank-3 input, but TF.js 4.22.0's "
               r"cpu and wasm batchNorm kernels .*Fix: remove cpu, wasm from \S*tfjs.yaml:\d+:\d+: models.m.backends")
    converted = converts_only_on(convert, _axis1_batch_norm_model(), tmp_path, refusal, "webgl")
    assert (converted.out_dir / "model.json").is_file()


@pytest.mark.browser
def test_batch_norm_on_a_middle_axis_is_right_on_webgl(convert, chromium, run_tfjs, assert_close, tmp_path) -> None:
    keras_model = _axis1_batch_norm_model()
    source = tmp_path / "axis1.keras"
    keras_model.save(source)
    feeds = sample_feeds(keras_model, 4)
    got = run_tfjs(convert(source, "backends: [webgl]").out_dir, feeds, "webgl", format="layers")
    assert_close(got["bn"], predict(keras_model, feeds)[0])
