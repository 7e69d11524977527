"""Function calls freezing leaves (XLA-compiled, nested, inside v2 loop bodies) are inlined, and grouped
Conv2Ds (what Keras 3 runs those XLA functions for) become convolutions TF.js has."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from .graphs import Frozen, ops_of, run_graph

pytestmark = pytest.mark.slow
CALLS = {"PartitionedCall", "StatefulPartitionedCall"}


def _frozen(fn: Any, specs: list[Any], *, lower: bool) -> Frozen:
    """Freeze like TF's converter does (calls to _noinline/XLA functions survive it)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    concrete = tf.function(fn, autograph=False).get_concrete_function(*specs)
    frozen = convert_variables_to_constants_v2(concrete, lower_control_flow=lower)
    return Frozen(frozen.graph.as_graph_def(), [t.name for t in frozen.inputs], [t.name for t in frozen.outputs])


def _all_ops(graph_def: Any) -> list[str]:
    return ops_of(graph_def) + [n.op for f in graph_def.library.function for n in f.node_def]


@pytest.fixture(scope="module")
def nested_calls() -> tuple[Any, Any]:
    """An XLA-compiled function calling another, inside and outside a while loop (two variables)."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    scale = tf.Variable(rng.normal(size=(4,)).astype(np.float32))
    shift = tf.Variable(rng.normal(size=(4,)).astype(np.float32))

    @tf.function(jit_compile=True)
    def inner(x: tf.Tensor) -> tf.Tensor:
        return tf.tanh(x * scale)

    @tf.function(jit_compile=True)
    def outer(x: tf.Tensor) -> tf.Tensor:
        return inner(x) + shift

    def fn(x: tf.Tensor, n: tf.Tensor) -> dict[str, tf.Tensor]:
        looped = tf.while_loop(lambda i, y: i < n, lambda i, y: (i + 1, outer(y)), (0, x))[1]
        return {"direct": outer(x) * 2.0, "looped": looped}

    specs = [tf.TensorSpec([2, 4], tf.float32), tf.TensorSpec([], tf.int32)]
    feed = (rng.normal(size=(2, 4)).astype(np.float32), np.array(3, np.int32))
    return fn, specs, feed


@pytest.mark.parametrize("lower", [True, False], ids=["lowered", "control_flow_v2"])
def test_every_call_is_inlined_at_any_depth_and_computes_the_same(nested_calls: Any, lower: bool) -> None:
    from tfjs_build.convert.graph.passes.inline import inline_calls

    fn, specs, (x, n) = nested_calls
    frozen = _frozen(fn, specs, lower=lower)
    before = set(_all_ops(frozen.graph_def))
    assert before & CALLS, "TF's freezing inlined the XLA functions itself: this test no longer tests anything"
    graph_def = frozen.graph_def.__class__()
    graph_def.CopyFrom(frozen.graph_def)
    assert inline_calls(graph_def) >= 2
    ops = _all_ops(graph_def)
    assert not set(ops) & CALLS and ops.count("Tanh") == 2
    library = {f.signature.name for f in graph_def.library.function}
    assert not any("inner" in name or "outer" in name for name in library)  # inlined functions are dropped
    assert ("While" in ops or "StatelessWhile" in ops) != lower
    feed = dict(zip(frozen.inputs, (x, n), strict=True))
    for got, want in zip(run_graph(graph_def, feed, frozen.outputs), run_graph(frozen.graph_def, feed, frozen.outputs),
                         strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)  # XLA computes tanh with another rounding


def test_control_edges_on_a_call_wait_for_its_inlined_body() -> None:
    """A node that waits on the call (``^call``) now waits on a NoOp of the same name after the body."""
    from tfjs_build.convert.graph.passes.inline import inline_calls

    graph_def, twice = _one_node_function("double", "AddV2", ["x", "x"], "twice:z:0")
    twice.attr["T"].type = 1
    call = graph_def.node.add(name="call", op="PartitionedCall", input=["x"])
    call.attr["f"].func.name = "double"
    graph_def.node.add(name="after", op="Identity", input=["call:0", "^call"]).attr["T"].type = 1
    assert inline_calls(graph_def) == 1
    nodes = {node.name: node for node in graph_def.node}
    assert list(nodes["after"].input) == ["call/twice", "^call"]
    assert nodes["call"].op == "NoOp" and list(nodes["call"].input) == ["^call/twice"]
    assert list(nodes["call/twice"].input) == ["x", "x"] and not graph_def.library.function


@pytest.fixture(scope="module")
def grouped() -> tuple[Any, Any]:
    """Keras 3 grouped convolutions: one group per channel (ConvNeXt), two groups, and a plain conv."""
    import keras

    from .graphs import randomize

    image = keras.Input((7, 7, 6), name="image")
    x = keras.layers.Conv2D(12, 3, padding="same", groups=6, use_bias=False, name="per_channel")(image)
    x = keras.layers.Conv2D(4, 3, groups=2, use_bias=False, name="two_groups")(x)
    net = keras.Model(image, keras.layers.Conv2D(3, 1, use_bias=False, name="plain")(x))
    randomize(net, seed=3)
    return net, np.random.default_rng(4).normal(size=(2, 7, 7, 6)).astype(np.float32)


def test_grouped_convs_become_depthwise_or_per_group_convs(grouped: Any) -> None:
    import tensorflow as tf

    from tfjs_build.convert.graph.optimize import optimize_for_tfjs
    from tfjs_build.convert.graph.passes.inline import inline_calls
    from tfjs_build.convert.graph.pipeline import run_grappler

    net, images = grouped
    frozen = _frozen(lambda t: net(t, training=False), [tf.TensorSpec([None, 7, 7, 6], tf.float32)], lower=True)
    inline_calls(frozen.graph_def)  # as the converter does: inline, then Grappler, then the TF.js passes
    optimized = run_grappler(frozen.graph_def.SerializeToString(), frozen.output_nodes, strip_debug_ops=False)
    graph_def, report = optimize_for_tfjs(optimized, backends=("cpu", "wasm"), output_nodes=frozen.output_nodes)
    ops = ops_of(graph_def)
    assert ops.count("DepthwiseConv2dNative") == 1 and ops.count("Conv2D") == 3 and ops.count("Split") == 1
    assert "rewrote 2 grouped Conv2Ds as depthwise or per-group convolutions (TF.js conv2d has no groups)" in report
    (got,) = run_graph(graph_def, {frozen.inputs[0]: images}, frozen.outputs)
    np.testing.assert_allclose(got, net(images).numpy(), rtol=1e-5, atol=1e-5)


def test_a_call_whose_body_uses_an_unknown_op_stays_a_call() -> None:
    """Without the op's definition its outputs cannot be numbered: the call is kept (and the op check refuses it)."""
    from tfjs_build.convert.graph.passes.inline import inline_calls

    graph_def, _ = _one_node_function("custom", "SomeCustomOp", ["x"], "magic:out:0")
    graph_def.node.add(name="call", op="StatefulPartitionedCall", input=["x"]).attr["f"].func.name = "custom"
    before = graph_def.SerializeToString()
    assert inline_calls(graph_def) == 0
    assert graph_def.SerializeToString() == before


def _one_node_function(name: str, op: str, inputs: list[str], output: str) -> tuple[Any, Any]:
    """A graph of a float placeholder ``x`` whose library holds ``name``: x -> y, where y is ``output``
    (``node:arg:index``) of the body's one ``op`` node; returns the graph and that node."""
    from tensorflow.core.framework import graph_pb2

    graph_def = graph_pb2.GraphDef()
    body = graph_def.library.function.add()
    body.signature.name = name
    body.signature.input_arg.add(name="x", type=1)
    body.signature.output_arg.add(name="y", type=1)
    node = body.node_def.add(name=output.split(":")[0], op=op, input=inputs)
    body.ret["y"] = output
    graph_def.node.add(name="x", op="Placeholder").attr["dtype"].type = 1
    return graph_def, node
