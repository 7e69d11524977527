"""Weights set aside while Grappler runs: only conv/matmul weights go, and they come back intact."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from tfjs_build.convert.graph.editor import GraphEditor  # noqa: E402
from tfjs_build.convert.graph.pipeline import run_grappler  # noqa: E402
from tfjs_build.convert.graph.set_aside import put_weights_back, set_weights_aside  # noqa: E402

pytestmark = pytest.mark.slow


def _graph() -> Any:
    """x -> Conv2D(big kernel via Identity) -> + big constant -> Reshape(shape constant) -> y."""
    rng = np.random.default_rng(0)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, (1, 6, 6, 4), name="x")
        kernel = tf.identity(tf.constant(rng.normal(size=(3, 3, 4, 40)).astype("float32"), name="kernel"))
        y = tf.nn.conv2d(x, kernel, strides=1, padding="SAME") + tf.constant(
            rng.normal(size=(6, 6, 40)).astype("float32"), name="offset"
        )
        tf.reshape(y, tf.constant([1, -1], name="shape"), name="y")
    return graph.as_graph_def()


def _run(graph_def: Any, x: np.ndarray) -> np.ndarray:
    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=graph) as session:
            return session.run("y:0", {"x:0": x})


def test_only_weight_constants_are_set_aside_and_come_back_after_grappler() -> None:
    graph_def = _graph()
    expected = _run(graph_def, x := np.random.default_rng(1).normal(size=(1, 6, 6, 4)).astype("float32"))
    kernel_bytes = next(n for n in graph_def.node if n.name == "kernel").attr["value"].tensor.tensor_content
    aside = set_weights_aside(graph_def, {"x", "y"})
    ops = {node.name: node.op for node in graph_def.node}
    assert set(aside) == {"kernel"}
    assert (ops["kernel"], ops["offset"], ops["shape"]) == ("Placeholder", "Const", "Const")
    optimized = run_grappler(graph_def.SerializeToString(), ["y"], strip_debug_ops=False)
    assert next(n for n in optimized.node if n.name == "kernel").op == "Placeholder"
    put_weights_back(optimized, aside)
    kernel = next(n for n in optimized.node if n.name == "kernel")
    assert kernel.op == "Const" and kernel.attr["value"].tensor.tensor_content == kernel_bytes
    np.testing.assert_allclose(_run(optimized, x), expected, rtol=1e-6, atol=1e-6)


def test_a_consuming_editor_leaves_no_copy_of_the_nodes_behind() -> None:
    graph_def = _graph()
    names = [node.name for node in graph_def.node]
    ed = GraphEditor(graph_def, {"y"}, consume=True)
    assert len(graph_def.node) == 0
    assert [node.name for node in ed.to_graph_def().node] == names
