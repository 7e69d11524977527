"""The harness really runs TF.js: hand-written models computed on cpu, wasm and webgl."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tfjs_build.verify.runner import TfjsRuntimeError, fit_in_tfjs, run_request, time_in_tfjs

from .handmade import (
    dense_graph_model,
    dense_layers_model,
    erfc_graph_model,
    fused_matmul_graph_model,
    regex_graph_model,
    two_input_graph_model,
    where_graph_model,
)

pytestmark = [pytest.mark.slow, pytest.mark.node]
RNG = np.random.default_rng(7)
KERNEL = RNG.standard_normal((3, 2)).astype(np.float32)
BIAS = RNG.standard_normal(2).astype(np.float32)
X = RNG.standard_normal((4, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def dense_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return dense_graph_model(tmp_path_factory.mktemp("dense"), KERNEL, BIAS)


@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_graph_model_matches_numpy(dense_dir: Path, backend: str, run_tfjs: Callable, assert_close: Callable) -> None:
    got = run_tfjs(dense_dir, {"features": X}, backend)
    assert list(got) == ["logits"]
    assert got["logits"].dtype == np.float32
    assert_close(got["logits"], X @ KERNEL + BIAS)


@pytest.mark.browser
def test_graph_model_on_webgl_in_chromium(dense_dir: Path, chromium: str, assert_close: Callable) -> None:
    response = run_request(dense_dir, {"features": X}, "webgl", {"action": "predict", "format": "graph"}, timeout=180)
    assert response.backend == "webgl"
    assert_close(response.outputs["logits"], X @ KERNEL + BIAS)


@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_several_inputs_by_signature_key_with_int32(tmp_path: Path, backend: str, run_tfjs: Callable) -> None:
    values = RNG.standard_normal((2, 3))  # float64: the harness narrows it to float32
    counts = np.array([[1, -2, 3], [40000, 5, -6]], dtype=np.int64)
    got = run_tfjs(two_input_graph_model(tmp_path), {"counts": counts, "values": values}, backend)
    assert sorted(got) == ["sum", "twice"]
    assert got["twice"].dtype == np.int32
    np.testing.assert_array_equal(got["twice"], 2 * counts)
    np.testing.assert_array_equal(got["sum"], values.astype(np.float32) + counts.astype(np.float32))


def test_execute_async_on_request(dense_dir: Path, tfjs_available: Path) -> None:
    request = {"action": "predict", "format": "graph", "executeAsync": True}
    response = run_request(dense_dir, {"features": X}, "cpu", request, timeout=120)
    assert response.mode == "executeAsync"
    np.testing.assert_allclose(response.outputs["logits"], X @ KERNEL + BIAS, rtol=1e-6, atol=1e-6)


WORDS = np.array([["banana", "aardvark"], ["ünïcödé a", ""]], dtype=object)


def test_string_tensors_round_trip(tmp_path: Path, run_tfjs: Callable) -> None:
    got = run_tfjs(regex_graph_model(tmp_path, pattern="a+", rewrite="<>"), {"text": WORDS}, "cpu")
    assert got["replaced"].shape == (2, 2)
    assert got["replaced"].reshape(-1).tolist() == [re.sub("a+", "<>", w).encode() for w in WORDS.reshape(-1)]
    assert got["same"].reshape(-1).tolist() == [w.encode() for w in WORDS.reshape(-1)]


def test_wasm_runs_requested_string_output_and_names_missing_kernel(tmp_path: Path, run_tfjs: Callable) -> None:
    model = regex_graph_model(tmp_path, pattern="a+", rewrite="<>")
    got = run_tfjs(model, {"text": WORDS}, "wasm", outputs=["same"])
    assert list(got) == ["same"]
    assert got["same"].reshape(-1).tolist() == [w.encode() for w in WORDS.reshape(-1)]
    with pytest.raises(TfjsRuntimeError, match="Kernel 'StaticRegexReplace' not registered for backend 'wasm'"):
        run_tfjs(model, {"text": WORDS}, "wasm")


@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_dynamic_op_falls_back_to_execute_async(tmp_path: Path, backend: str, tfjs_available: Path) -> None:
    mask = np.array([[True, False, True], [False, False, True]])
    model = where_graph_model(tmp_path)
    response = run_request(model, {"mask": mask}, backend, {"action": "predict", "format": "graph"}, timeout=120)
    assert response.mode == "executeAsync"
    np.testing.assert_array_equal(response.outputs["indices"], np.argwhere(mask).astype(np.int32))
    with pytest.raises(TfjsRuntimeError, match="dynamic op 'Where'"):
        run_request(model, {"mask": mask}, backend, {"action": "predict", "format": "graph", "executeAsync": False}, timeout=120)


def test_unsupported_op_reports_the_tfjs_message(tmp_path: Path, tfjs_available: Path) -> None:
    with pytest.raises(TfjsRuntimeError) as caught:
        run_request(erfc_graph_model(tmp_path), {"x": X}, "cpu", {"action": "predict", "format": "graph"}, timeout=120)
    assert caught.value.stage == "execute"  # TF.js maps ops to kernels lazily, at first execution
    assert caught.value.js_message.startswith("Unknown op 'Erfc'.")
    assert str(caught.value).startswith(f"{tmp_path}: TF.js 4.22.0 (cpu) failed to execute the model: ")


def test_wrong_input_shape_reports_the_tfjs_message(dense_dir: Path, run_tfjs: Callable) -> None:
    with pytest.raises(TfjsRuntimeError, match=r"must be \[-1,3\], but was \[2,4\]") as caught:
        run_tfjs(dense_dir, {"features": np.zeros((2, 4), np.float32)}, "wasm")
    assert caught.value.stage == "execute"


@pytest.mark.parametrize("backend", ["cpu", "wasm", pytest.param("webgl", marks=pytest.mark.browser)])
def test_layers_model_predicts(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest, run_tfjs: Callable, assert_close: Callable
) -> None:
    if backend == "webgl":
        request.getfixturevalue("chromium")
    model = dense_layers_model(tmp_path, KERNEL, BIAS)
    got = run_tfjs(model, {"inp": X}, backend, format="layers")
    assert list(got) == ["dense"]
    assert_close(got["dense"], X @ KERNEL + BIAS)


@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_layers_model_trains_one_sgd_step(tmp_path: Path, backend: str, tfjs_available: Path, assert_close: Callable) -> None:
    model = dense_layers_model(tmp_path, KERNEL, BIAS)
    y = np.random.default_rng(3).standard_normal((4, 2)).astype(np.float32)
    lr = 0.1
    result = fit_in_tfjs(model, {"inp": X}, {"dense": y}, backend, learning_rate=lr)
    grad_out = 2.0 * (X @ KERNEL + BIAS - y) / y.size  # d(mean squared error)/d(prediction)
    assert_close(result.weights["dense/kernel"], KERNEL - lr * X.T @ grad_out)
    assert_close(result.weights["dense/bias"], BIAS - lr * grad_out.sum(axis=0))
    assert_close(np.float32(result.loss_before), np.mean((X @ KERNEL + BIAS - y) ** 2))
    assert result.loss_after < result.loss_before


ALL_BACKENDS = ["cpu", "wasm", pytest.param("webgl", marks=pytest.mark.browser)]
FUSED_TANH_ERRORS = {
    "cpu": "Activation tanh has not been implemented for the CPU backend.",
    "wasm": "tanh activation not yet supported for FusedConv2D in the wasm backend.",
    "webgl": "Activation tanh has not been implemented for the WebGL backend.",
}


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_fused_matmul_relu_runs_and_fused_tanh_is_refused(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest, run_tfjs: Callable, assert_close: Callable
) -> None:
    """A fact the optimizer relies on: every backend runs fused Relu, none runs fused Tanh."""
    if backend == "webgl":
        request.getfixturevalue("chromium")
    relu = run_tfjs(fused_matmul_graph_model(tmp_path / "relu", KERNEL, BIAS, "Relu"), {"x": X}, backend)
    assert_close(relu["y"], np.maximum(X @ KERNEL + BIAS, 0))
    with pytest.raises(TfjsRuntimeError) as caught:
        run_tfjs(fused_matmul_graph_model(tmp_path / "tanh", KERNEL, BIAS, "Tanh"), {"x": X}, backend)
    assert caught.value.js_message == FUSED_TANH_ERRORS[backend]


def test_inference_timing_after_warmup(dense_dir: Path, tfjs_available: Path) -> None:
    times = time_in_tfjs(dense_dir, {"features": X}, "wasm", warmup=2, runs=5)
    assert len(times) == 5
    assert all(0.0 < t < 10_000.0 for t in times)
