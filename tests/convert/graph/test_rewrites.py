"""Exact rewrites of ops TF.js lacks, and the unsupported-op error, on real frozen graphs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tfjs_build.checks import op_support as ops
from tfjs_build.errors import UnsupportedModelError

from .graphs import freeze, ops_of, run_graph

pytestmark = pytest.mark.slow
WHERE = "tfjs.yaml:7:5: models.net.backends"
REWRITTEN = ("Erfc", "Softsign", "Xlogy", "Xdivy", "Inv", "Rint", "BatchMatMulV3")


@pytest.fixture(scope="module")
def unsupported_graph() -> tuple[Any, dict[str, np.ndarray]]:
    """Every op with a rewrite, on inputs that hit the edge cases (zeros, halves, tails)."""
    import tensorflow as tf

    def fn(x: tf.Tensor, y: tf.Tensor, m: tf.Tensor) -> dict[str, tf.Tensor]:
        return {
            "erfc": tf.math.erfc(x),
            "softsign": tf.math.softsign(x),
            "xlogy": tf.math.xlogy(x, y),
            "xdivy": tf.math.xdivy(x, y),
            "inv": tf.raw_ops.Inv(x=y),
            "rint": tf.math.rint(x),
            "bmm": tf.raw_ops.BatchMatMulV3(x=m, y=m, Tout=tf.float32, adj_y=True),
        }

    spec = tf.TensorSpec([12], tf.float32)
    frozen = freeze(fn, [spec, spec, tf.TensorSpec([2, 3, 3], tf.float32)], grappler=False)
    x = np.array([0.0, -0.0, 0.5, 1.5, 2.5, -2.5, -3.7, 3.9, 1e-3, -8.0, 8.0, 0.0], np.float32)
    y = np.array([2.0, 0.0, 0.3, 1.0, 4.0, 0.1, 5.0, 0.5, 7.0, 1.0, 3.0, 0.0], np.float32)
    m = np.random.default_rng(5).normal(size=(2, 3, 3)).astype(np.float32)
    return frozen, dict(zip(frozen.inputs, (x, y, m), strict=True))


def test_rewrites_remove_every_unsupported_op_and_are_exact(unsupported_graph: Any) -> None:
    from tfjs_build.convert.graph.optimize import optimize_for_tfjs

    frozen, feed = unsupported_graph
    before_ops = set(ops_of(frozen.graph_def))
    assert set(ops.unsupported_ops(before_ops, ["cpu", "wasm"])["cpu"]) == set(REWRITTEN)
    graph_def, report = optimize_for_tfjs(frozen.graph_def, backends=("cpu", "wasm"), output_nodes=frozen.output_nodes)
    assert ops.unsupported_ops(ops_of(graph_def), ["cpu", "wasm", "webgl"]) == {}
    assert len(report) == 7 and all(line.startswith("rewrote 1 ") for line in report)
    before = run_graph(frozen.graph_def, feed, frozen.outputs)
    after = run_graph(graph_def, feed, frozen.outputs)
    nodes = {n.name: n for n in frozen.graph_def.node}
    tolerance = {"Erfc": (0, 1.2e-7), "BatchMatMulV3": (1e-6, 0)}  # one more rounding; another kernel's sum order
    checked = []
    for name, got, want in zip(frozen.outputs, after, before, strict=True):
        op = nodes[nodes[name.split(":")[0]].input[0]].op
        checked.append(op)
        rtol, atol = tolerance.get(op, (0, 0))  # the rest is bit-identical
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=op)
    assert sorted(checked) == sorted(REWRITTEN)


def test_erfc_rewrite_report_names_the_node(unsupported_graph: Any) -> None:
    from tfjs_build.convert.graph.optimize import optimize_for_tfjs

    frozen, _ = unsupported_graph
    _, report = optimize_for_tfjs(frozen.graph_def, backends=("cpu",), output_nodes=frozen.output_nodes)
    erfc = next(n.name for n in frozen.graph_def.node if n.op == "Erfc")
    assert f"rewrote 1 Erfc node as 1 - Erf(x) (TF.js 4.22.0 cannot run Erfc on cpu): {erfc}" in report


def test_check_supported_accepts_rewritable_ops(unsupported_graph: Any) -> None:
    from tfjs_build.convert.graph.optimize import check_supported

    check_supported(unsupported_graph[0].graph_def, ["cpu", "wasm", "webgl"], WHERE)


def test_rewritable_op_in_a_function_body_is_reported_with_the_lowering_hint(unsupported_graph: Any) -> None:
    from tfjs_build.convert.graph.optimize import check_supported

    graph_def = unsupported_graph[0].graph_def.__class__()
    graph_def.CopyFrom(unsupported_graph[0].graph_def)
    function = graph_def.library.function.add()
    function.signature.name = "while_body"
    function.node_def.add(name="gelu/Erfc", op="Erfc")
    with pytest.raises(UnsupportedModelError) as caught:
        check_supported(graph_def, ["cpu"], WHERE)
    message = str(caught.value)
    assert f"\n  Erfc on cpu ({ops.NOT_IN_CONVERTER}): while_body/gelu/Erfc\n" in message
    assert message.endswith(
        "; ops inside control-flow v2 function bodies are not rewritten: `control_flow_v2: false` lowers "
        "them into the main graph, where they are."
    )


@pytest.fixture(scope="module")
def wasm_gaps() -> Any:
    import tensorflow as tf

    def fn(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
        # The einsum is rewritten for wasm, so it is not reported; a complex FFT has no rewrite.
        spectrum = tf.signal.fft(tf.complex(a, b))
        return tf.einsum("ij,jk->ik", a, b) + tf.cast(spectrum, tf.float32)

    spec = tf.TensorSpec([2, 2], tf.float32)
    return freeze(fn, [spec, spec], grappler=False)


def test_check_supported_names_ops_nodes_backends_and_config_line(wasm_gaps: Any) -> None:
    from tfjs_build.convert.graph.optimize import check_supported

    check_supported(wasm_gaps.graph_def, ["cpu", "webgl"], WHERE)  # both have Complex and FFT kernels
    graph_def = wasm_gaps.graph_def.__class__()
    graph_def.CopyFrom(wasm_gaps.graph_def)
    # An op TF.js lacks entirely, inside a function body (as control flow v2 keeps them).
    function = graph_def.library.function.add()
    function.signature.name = "loop_body"
    function.node_def.add(name="lgamma", op="Lgamma")
    names = {n.op: n.name for n in graph_def.node}
    assert "Einsum" in names
    with pytest.raises(UnsupportedModelError) as caught:
        check_supported(graph_def, ["cpu", "wasm"], WHERE)
    assert str(caught.value) == (
        f"{WHERE}: TF.js 4.22.0 cannot run 3 ops of this model on cpu, wasm:\n"
        f"  Complex on wasm (no Complex kernel on wasm): {names['Complex']}\n"
        f"  FFT on wasm (no FFT kernel on wasm): {names['FFT']}\n"
        f"  Lgamma on cpu, wasm ({ops.NOT_IN_CONVERTER}): loop_body/lgamma\n"
        "Fix: change the model to avoid these ops (e.g. another activation or layer), or remove the "
        "backends that lack them from this model's `backends:` in tfjs.yaml."
    )


@pytest.fixture(scope="module")
def debug_graph() -> Any:
    """check_numerics (v1 and v2), Assert, tf.print and tf.Print around a tiny computation."""
    import tensorflow as tf

    def fn(x: tf.Tensor) -> tf.Tensor:
        x = tf.debugging.check_numerics(x, "bad input")
        checks = [tf.debugging.Assert(tf.reduce_all(x > -100.0), [x]), tf.print(x)]
        with tf.control_dependencies(checks):
            y = tf.compat.v1.Print(x * 2.0, [x])
        return tf.raw_ops.CheckNumericsV2(tensor=y, message="bad output")

    return freeze(fn, [tf.TensorSpec([3], tf.float32)], grappler=False)


def test_debug_ops_are_reported_with_the_strip_hint(debug_graph: Any) -> None:
    from tfjs_build.convert.graph.optimize import check_supported

    with pytest.raises(UnsupportedModelError) as caught:
        check_supported(debug_graph.graph_def, ["cpu"], WHERE)
    message = str(caught.value)
    for op in ("Assert", "CheckNumerics", "CheckNumericsV2", "PrintV2", "StringFormat"):
        assert f"\n  {op} on cpu ({ops.NOT_IN_CONVERTER}): " in message
    assert message.endswith("in tfjs.yaml; debug ops (Assert, CheckNumerics, Print) go away with `strip_debug_ops: true`.")
    check_supported(debug_graph.graph_def, ["cpu"], WHERE, strip_debug_ops=True)


def test_strip_debug_ops_leaves_a_runnable_equivalent_graph(debug_graph: Any) -> None:
    from tfjs_build.convert.graph.optimize import optimize_for_tfjs

    graph_def, report = optimize_for_tfjs(
        debug_graph.graph_def, backends=("cpu",), output_nodes=debug_graph.output_nodes, strip_debug_ops=True
    )
    assert "stripped 6 debug nodes (strip_debug_ops)" in report  # with the StringFormat tf.print made
    assert ops.unsupported_ops(ops_of(graph_def), ["cpu", "wasm", "webgl"]) == {}
    feed = {debug_graph.inputs[0]: np.array([1.0, -2.0, 3.5], np.float32)}
    (got,) = run_graph(graph_def, feed, debug_graph.outputs)
    np.testing.assert_array_equal(got, [2.0, -4.0, 7.0])


def test_rewrites_that_need_static_facts_decline_and_the_op_is_refused() -> None:
    """An RFFT of frames whose length is unknown, a Roll by a computed shift: left as they are, then refused."""
    import tensorflow as tf

    from tfjs_build.convert.graph.optimize import check_supported, optimize_for_tfjs

    def fn(frames: tf.Tensor, shift: tf.Tensor) -> list[tf.Tensor]:
        return [tf.abs(tf.signal.rfft(frames, [16])), tf.roll(frames, shift, 0)]

    frozen = freeze(fn, [tf.TensorSpec([2, None]), tf.TensorSpec([], tf.int32)], grappler=False)
    check_supported(frozen.graph_def, ["cpu", "wasm"], WHERE)  # before optimising: rewritable, as far as a node tells
    graph_def, report = optimize_for_tfjs(frozen.graph_def, backends=("cpu", "wasm"), output_nodes=frozen.output_nodes)
    assert {"RFFT", "ComplexAbs", "Roll"} <= set(ops_of(graph_def)) and not any("RFFT" in line for line in report)
    with pytest.raises(UnsupportedModelError) as caught:
        check_supported(graph_def, ["cpu", "wasm"], WHERE)
    assert "\n  Roll on cpu, wasm (" in str(caught.value) and "\n  RFFT on wasm (" in str(caught.value)
