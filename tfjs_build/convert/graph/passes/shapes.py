"""Static tensor shapes for the passes that need them (grouped convolutions, einsum, roll, ...).

A GraphDef after Grappler carries no shapes, so they come from TensorFlow's own shape inference:
the graph is imported into a scratch ``tf.Graph`` once, the first time a pass asks, with every
large constant replaced by a Placeholder of its dtype and shape (shape inference needs only the
shapes of weights, and the weights are not copied). Shapes of nodes added after that are unknown
(None), which passes treat like a dynamic shape.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from tensorflow.core.framework import graph_pb2, node_def_pb2
from tensorflow.python.framework import versions

from tfjs_build.convert.graph.editor import GraphEditor, split_input

Shape = tuple[int | None, ...]
VALUE_BYTES = 1024  # constants at least this large are weights, not shape arguments


class Shapes:
    """Lazily inferred output shapes of ``ed``'s nodes: ``of(ref)`` is None when the rank is unknown."""

    def __init__(self, ed: GraphEditor) -> None:
        self._ed = ed
        self._known: dict[str, list[Shape | None]] | None = None

    def of(self, ref: str) -> Shape | None:
        if self._known is None:
            self._known = _infer(self._ed)
        name, port, _ = split_input(ref)
        outputs = self._known.get(name)
        return outputs[port] if outputs is not None and 0 <= port < len(outputs) else None

    def rank(self, ref: str) -> int | None:
        shape = self.of(ref)
        return None if shape is None else len(shape)


def _infer(ed: GraphEditor) -> dict[str, list[Shape | None]]:
    view = graph_pb2.GraphDef()
    view.versions.producer = versions.GRAPH_DEF_VERSION  # else `shape {}` reads as unknown, as in old graphs
    view.library.CopyFrom(ed.library)
    view.node.extend(_shape_only(node) for node in ed)
    graph = tf.Graph()
    try:
        with graph.as_default():
            tf.graph_util.import_graph_def(view, name="")
    except (ValueError, TypeError, tf.errors.OpError):
        return {}  # an op TF cannot import: every shape stays unknown, so shape-needing rewrites step aside
    return {op.name: [_static(t.shape) for t in op.outputs] for op in graph.get_operations()}


def _shape_only(node: node_def_pb2.NodeDef) -> node_def_pb2.NodeDef:
    tensor = node.attr["value"].tensor if node.op == "Const" else None
    if tensor is None or len(tensor.tensor_content) < VALUE_BYTES:
        return node
    stand_in = node_def_pb2.NodeDef(name=node.name, op="Placeholder", input=[r for r in node.input if r.startswith("^")])
    stand_in.attr["dtype"].type = tensor.dtype
    stand_in.attr["shape"].shape.CopyFrom(tensor.tensor_shape)
    return stand_in


def _static(shape: Any) -> Shape | None:
    if shape.rank is None:
        return None
    return tuple(shape.as_list())
