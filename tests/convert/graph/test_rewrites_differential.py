"""Differential test of the Roll, XlaDynamicUpdateSlice, RFFT (+ ComplexAbs/Real/Imag), grouped Conv2D and
partly broadcast BatchMatMulV2 rewrites: random cases, TF vs TF.js on cpu, wasm and webgl, all cases of a
kind in one model and the models of all kinds in one TF.js process per backend, plus what each rewrite is
reported as."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from .differential import Batch, build_batch, mismatches, model_ops

pytestmark = [pytest.mark.slow]
# (signal shape, frame length, frame step, fft length or None, reader): crops, pads, odd lengths, ranks 1-3
SPECTRA = (
    ((2, 64), 16, 8, None, "abs"), ((2, 64), 16, 8, 12, "abs"), ((3, 50), 10, 5, 16, "real"), ((50,), 10, 5, 15, "imag"),
    ((2, 2, 40), 8, 4, 8, "abs"), ((2, 256), 64, 32, 64, "abs"),
)


# (image, filter, strides, padding, dilations): one group per channel (multiplier 1, 2), 2 and 3 groups
GROUPED = (
    ((2, 7, 7, 6), (3, 3, 1, 6), 1, "SAME", 1), ((2, 7, 7, 4), (3, 3, 1, 8), 2, "VALID", 1),
    ((2, 8, 8, 6), (3, 3, 2, 6), 1, "SAME", 1), ((2, 8, 8, 6), (1, 1, 3, 4), 1, "VALID", 1),
    ((1, 9, 9, 4), (3, 3, 2, 4), 1, "SAME", 2),
)


# (lhs, rhs) of tf.matmul: three partly broadcast (rewritten), one whose lhs batch is all ones (left alone)
BROADCAST_MATMULS = (
    ((3, 1, 2, 4), (3, 3, 4, 2)), ((1, 3, 2, 2), (3, 1, 2, 2)), ((2, 1, 3, 2, 2), (1, 4, 3, 2, 2)),
    ((1, 1, 2, 3), (2, 3, 3, 2)),
)


def _roll_cases(rng: np.random.Generator, count: int) -> list[tuple[tuple[int, ...], list[int], list[int], str]]:
    cases = []
    for _ in range(count):
        shape = tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(1, 5))))
        axes = [int(a) for a in rng.integers(-len(shape), len(shape), size=int(rng.integers(1, 3)))]  # may repeat
        shifts = [int(s) for s in rng.integers(-7, 8, size=len(axes))]
        cases.append((shape, shifts, axes, "int32" if rng.random() < 0.2 else "float32"))
    return cases


def _update_cases(rng: np.random.Generator, count: int) -> list[tuple[tuple[int, ...], tuple[int, ...], list[int]]]:
    cases = []
    for _ in range(count):
        shape = tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(1, 5))))
        update = tuple(int(rng.integers(1, d + 1)) for d in shape)
        starts = [int(rng.integers(-2, d + 2)) for d in shape]  # out of range: XLA clamps so the update fits
        cases.append((shape, update, starts))
    return cases


@pytest.fixture(scope="module")
def slicing(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    import tensorflow as tf
    from tensorflow.compiler.tf2xla.python.xla import dynamic_update_slice

    rng = np.random.default_rng(21)
    rolls, updates = _roll_cases(rng, 30), _update_cases(rng, 30)
    specs, feeds, labels, makers = [], [], [], []
    for shape, shifts, axes, dtype in rolls:
        feeds.append(rng.normal(size=shape).astype(dtype) if dtype == "float32" else rng.integers(-50, 50, shape, np.int32))
        specs.append(tf.TensorSpec(shape, dtype))
        labels.append(f"Roll {shape} {dtype} shift={shifts} axis={axes}")
        makers.append(lambda x, s=shifts, a=axes: [tf.roll(x, s, a)])
    for shape, update, starts in updates:
        feeds += [rng.normal(size=shape).astype(np.float32), rng.normal(size=update).astype(np.float32)]
        specs += [tf.TensorSpec(shape), tf.TensorSpec(update)]
        labels.append(f"XlaDynamicUpdateSlice {shape} <- {update} at {starts}")
        makers.append(lambda x, u, s=starts: [dynamic_update_slice(x, u, tf.constant(s, tf.int32))])
    return build_batch(tmp_path_factory.mktemp("slicing"), _joined(makers), specs, feeds, labels)


@pytest.fixture(scope="module")
def spectra(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    import tensorflow as tf

    rng = np.random.default_rng(22)
    readers = {"abs": tf.abs, "real": tf.math.real, "imag": tf.math.imag}
    specs, feeds, labels, makers = [], [], [], []
    for shape, frame, step, length, reader in SPECTRA:
        feeds.append(rng.normal(size=shape).astype(np.float32))
        specs.append(tf.TensorSpec(shape))
        labels.append(f"{reader}(stft({shape}, frame {frame}, step {step}, fft length {length}))")
        makers.append(lambda x, f=frame, s=step, n=length, r=readers[reader]: [r(tf.signal.stft(x, f, s, n))])
    return build_batch(tmp_path_factory.mktemp("spectra"), _joined(makers), specs, feeds, labels)


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    """Grouped convolutions as Keras 3 runs them (an XLA-compiled call of a plain Conv2D), in a frozen graph."""
    import tensorflow as tf

    rng = np.random.default_rng(23)
    specs, feeds, labels, makers = [], [], [], []
    for image, kernel, strides, padding, dilations in GROUPED:
        weights = tf.Variable(rng.normal(size=kernel).astype(np.float32))

        @tf.function(jit_compile=True)
        def conv(x: tf.Tensor, w: tf.Variable = weights, s: int = strides, p: str = padding, d: int = dilations) -> Any:
            return tf.nn.conv2d(x, w, s, p, dilations=d)

        feeds.append(rng.normal(size=image).astype(np.float32))
        specs.append(tf.TensorSpec(image))
        labels.append(f"Conv2D {image} * {kernel} ({image[3] // kernel[2]} groups) strides {strides} {padding} "
                      f"dilations {dilations}")
        makers.append(lambda x, c=conv: [c(x)])
    return build_batch(tmp_path_factory.mktemp("grouped"), _joined(makers), specs, feeds, labels)


@pytest.fixture(scope="module")
def matmuls(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    """tf.matmul with batch dims that broadcast: partly (TF.js pairs them wrongly unless rewritten) and wholly."""
    import tensorflow as tf

    rng = np.random.default_rng(24)
    specs, feeds, labels = [], [], []
    for a, b in BROADCAST_MATMULS:
        specs += [tf.TensorSpec(a), tf.TensorSpec(b)]
        feeds += [rng.normal(size=a).astype(np.float32), rng.normal(size=b).astype(np.float32)]
        labels.append(f"BatchMatMulV2 {a} x {b}")

    def fn(*inputs: tf.Tensor) -> list[tf.Tensor]:
        return [tf.linalg.matmul(inputs[2 * i], inputs[2 * i + 1]) for i in range(len(BROADCAST_MATMULS))]

    return build_batch(tmp_path_factory.mktemp("matmuls"), fn, specs, feeds, labels)


def _joined(makers: list[Callable[..., list[Any]]]) -> Callable[..., list[Any]]:
    """One function of every case's inputs (in order) returning every case's output."""
    import inspect

    def fn(*inputs: Any) -> list[Any]:
        outputs, at = [], 0
        for make in makers:
            arity = sum(p.default is inspect.Parameter.empty for p in inspect.signature(make).parameters.values())
            outputs += make(*inputs[at:at + arity])
            at += arity
        return outputs

    return fn


def test_slicing_rewrites_leave_only_slices_and_are_reported(slicing: Batch) -> None:
    ops = set(model_ops(slicing.model_json))
    assert not ops & {"Roll", "XlaDynamicUpdateSlice"} and {"Slice", "ConcatV2"} <= ops
    lines = {line.split(" node")[0]: line for line in slicing.result.rewrites}
    assert lines["rewrote 30 Roll"].startswith("rewrote 30 Roll nodes as Slice + ConcatV2 (constant shifts) (TF.js 4.22.0")
    assert "rewrote 30 XlaDynamicUpdateSlice" in lines


def test_spectra_have_no_complex_ops_left_and_are_reported(spectra: Batch) -> None:
    ops = set(model_ops(spectra.model_json))
    assert not ops & {"RFFT", "ComplexAbs", "Real", "Imag", "Complex"} and "MatMul" in ops
    assert any(line.startswith(f"rewrote {len(SPECTRA)} RFFT nodes as real matmuls with cosine/sine DFT matrices")
               for line in spectra.result.rewrites)


def test_grouped_convs_are_inlined_and_ungrouped(grouped: Batch) -> None:
    ops = model_ops(grouped.model_json)
    assert "StatefulPartitionedCall" not in ops and ops.count("Split") == 3
    assert "rewrote 5 grouped Conv2Ds as depthwise or per-group convolutions (TF.js conv2d has no groups)" in (
        grouped.result.rewrites
    )


def test_partly_broadcast_matmuls_broadcast_first(matmuls: Batch) -> None:
    assert model_ops(matmuls.model_json).count("BroadcastTo") == 6
    assert "broadcast the batch dims of 3 BatchMatMulV2 operand pairs before multiplying (TF.js 4.22 pairs partly " \
           "broadcast batches wrongly)" in matmuls.result.rewrites


def test_dft_matrices_are_rfft_of_unit_impulses() -> None:
    """Row t of the matrices is the spectrum of an impulse at t (cropped beyond the FFT length)."""
    from tfjs_build.convert.graph.passes.dft import dft_matrices

    cosines, sines = dft_matrices(frame=7, length=5)
    expected = np.fft.rfft(np.eye(7), n=5)  # numpy pads or crops each row to n as TF's RFFT does
    np.testing.assert_allclose(cosines, expected.real, atol=1e-7)
    np.testing.assert_allclose(-sines, expected.imag, atol=1e-7)


KINDS = ("slicing", "spectra", "grouped", "matmuls")


def _all_mismatches(request: pytest.FixtureRequest, backend: str) -> list[str]:
    """Every kind's cases, the three models in one TF.js process."""
    from tfjs_build.verify.runner import run_batch_in_tfjs

    batches = [request.getfixturevalue(kind) for kind in KINDS]
    results = run_batch_in_tfjs([(batch.out_dir, batch.inputs) for batch in batches], backend)
    lines = []
    for kind, batch, got in zip(KINDS, batches, results, strict=True):
        lines += [f"{kind}: {got}"] if not isinstance(got, dict) else mismatches(batch, got)
    return lines


@pytest.mark.node
@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_rewrites_match_tensorflow_in_node(backend: str, request: pytest.FixtureRequest, tfjs_available: Any) -> None:
    assert _all_mismatches(request, backend) == []


@pytest.mark.browser
def test_rewrites_match_tensorflow_on_webgl(request: pytest.FixtureRequest, chromium: str) -> None:
    assert _all_mismatches(request, "webgl") == []
