"""Test helpers: freeze tiny tf.functions, run Grappler like the converter does, run GraphDefs in TF.

TensorFlow is imported inside the helpers, so collecting the tests (e.g. ``-m "not slow"``) stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tensorflow.core.framework import graph_pb2


class Frozen:
    """A frozen graph with its input and output tensor names."""

    def __init__(self, graph_def: graph_pb2.GraphDef, inputs: list[str], outputs: list[str]) -> None:
        self.graph_def = graph_def
        self.inputs = inputs
        self.outputs = outputs

    @property
    def output_nodes(self) -> list[str]:
        return [name.split(":")[0] for name in self.outputs]


def freeze(fn: Callable, specs: Sequence[Any], *, grappler: bool = True) -> Frozen:
    """Freeze ``fn`` and (by default) run Grappler's generic passes, as the converter core does."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    concrete = tf.function(fn, autograph=False).get_concrete_function(*specs)
    frozen = convert_variables_to_constants_v2(concrete)
    graph_def = frozen.graph.as_graph_def()
    inputs = [t.name for t in frozen.inputs]
    outputs = [t.name for t in frozen.outputs]
    if grappler:
        graph_def = _grappler(graph_def, frozen.graph, outputs)
    return Frozen(graph_def, inputs, outputs)


def _grappler(graph_def: graph_pb2.GraphDef, graph: Any, outputs: list[str]) -> graph_pb2.GraphDef:
    import tensorflow as tf
    from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2
    from tensorflow.python.grappler import tf_optimizer

    meta = tf.compat.v1.train.export_meta_graph(graph_def=graph_def, graph=graph)
    fetch = meta.collection_def["train_op"]
    fetch.node_list.value.extend(outputs)
    config = config_pb2.ConfigProto()
    rewrite = config.graph_options.rewrite_options
    rewrite.optimizers.extend(["constfold", "arithmetic", "dependency", "pruning"])
    rewrite.meta_optimizer_iterations = rewriter_config_pb2.RewriterConfig.ONE
    return tf_optimizer.OptimizeGraph(config, meta)


def run_graph(graph_def: graph_pb2.GraphDef, inputs: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
    """Execute a GraphDef in TensorFlow (the reference for every numeric check)."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run(outputs, feed_dict=inputs)


def unfuse(graph_def: graph_pb2.GraphDef) -> graph_pb2.GraphDef:
    """Expand TF.js fused ops back into linear op + BiasAdd + activation, so TensorFlow can run them.

    TF's CPU kernels only fuse some activations, and FusedDepthwiseConv2dNative is a TF.js name;
    the expansion is written independently of the code under test.
    """
    from tensorflow.core.framework import graph_pb2

    linear_of = {"_FusedConv2D": "Conv2D", "FusedDepthwiseConv2dNative": "DepthwiseConv2dNative", "_FusedMatMul": "MatMul"}
    linear_attrs = {
        "Conv2D": ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations"),
        "DepthwiseConv2dNative": ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations"),
        "MatMul": ("T", "transpose_a", "transpose_b"),
    }
    out = graph_pb2.GraphDef()
    out.CopyFrom(graph_def)
    del out.node[:]
    for node in graph_def.node:
        if node.op not in linear_of:
            out.node.add().CopyFrom(node)
            continue
        fused_ops = [s.decode() for s in node.attr["fused_ops"].list.s]
        assert fused_ops[0] == "BiasAdd" and node.attr["num_args"].i == (2 if fused_ops[1:] == ["Prelu"] else 1)
        data = [ref for ref in node.input if not ref.startswith("^")]
        linear = out.node.add(name=f"{node.name}/unfused_linear", op=linear_of[node.op], input=data[:2])
        for key in linear_attrs[linear.op]:
            if key in node.attr:
                linear.attr[key].CopyFrom(node.attr[key])
        names = [linear.name]
        steps = [("BiasAdd", [linear.name, data[2]])] + [(op, []) for op in fused_ops[1:]]
        for i, (op, inputs) in enumerate(steps):
            last = i == len(steps) - 1
            step_name = node.name if last else f"{node.name}/unfused_{op}"
            if op == "Prelu":  # relu(x) - alpha * relu(-x)
                x = names[-1]
                for suffix, step_op, step_inputs in (
                    ("pos", "Relu", [x]), ("neg", "Neg", [x]), ("relu_neg", "Relu", [f"{step_name}/neg"]),
                    ("scaled", "Mul", [data[3], f"{step_name}/relu_neg"]),
                ):
                    part = out.node.add(name=f"{step_name}/{suffix}", op=step_op, input=step_inputs)
                    part.attr["T"].CopyFrom(node.attr["T"])
                op, inputs = "Sub", [f"{step_name}/pos", f"{step_name}/scaled"]
            step = out.node.add(name=step_name, op=op)
            step.input.extend(inputs or [names[-1]])
            step.attr["T"].CopyFrom(node.attr["T"])
            if op == "LeakyRelu":
                step.attr["alpha"].f = node.attr["leakyrelu_alpha"].f
            names.append(step.name)
    return out


def ops_of(graph_def: graph_pb2.GraphDef) -> list[str]:
    return [node.op for node in graph_def.node]


def randomize(model: object, seed: int) -> None:
    """Random weights and batch-norm statistics (variance > 0), so folding is really exercised."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:  # type: ignore[attr-defined]
        low = 0.5 if "variance" in weight.path else -1.0
        weight.assign(rng.uniform(low, 1.5, weight.shape).astype("float32"))
