"""The quantization accuracy figures: run the converted graph in TensorFlow with chosen weights.

``GraphRunner`` imports the graph TF.js receives (after folding and fusion) once and
feeds weights in place of its constants: the original values for the reference outputs,
the values TF.js will decode (dequantized from the written shards) for the candidate,
on the same sample inputs (``tfjs_build.checks.accuracy.sample_inputs``), then
``compare_outputs``. Every run feeds the same tensors, so TensorFlow builds its executor
once and ``quantize: auto`` can afford many runs. Constants inside function bodies
cannot be fed: those are written into a copy of the graph instead. TF cannot run
TF.js's fused-op spelling (``fused_ops: [biasadd, relu]``, ``FusedDepthwiseConv2dNative``),
so those nodes are expanded back into plain TF ops first: same arithmetic, different packaging.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import attr_value_pb2, graph_pb2, node_def_pb2, types_pb2

from tfjs_build.checks.accuracy import compare_outputs, sample_inputs
from tfjs_build.config import QUANT_DTYPES, ModelConfig
from tfjs_build.convert.auto_quantize import (
    AUTO,
    AutoChoice,
    Measured,
    choose_dtypes,
    mean_squared_difference,
    quantized_values,
)
from tfjs_build.convert.result import AccuracyFigures

BASE_OPS = {"_FusedConv2D": "Conv2D", "FusedDepthwiseConv2dNative": "DepthwiseConv2dNative", "_FusedMatMul": "MatMul"}
BASE_ATTRS = {
    "Conv2D": ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations", "use_cudnn_on_gpu"),
    "DepthwiseConv2dNative": ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations"),
    "MatMul": ("T", "transpose_a", "transpose_b"),
}
# (initializer GraphDef or None, resource placeholder names, initializer output names), by resource id.
Resources = tuple[Any, list[str], list[str]]
UNARY = {"relu": "Relu", "relu6": "Relu6", "elu": "Elu", "sigmoid": "Sigmoid", "tanh": "Tanh"}


@dataclass(frozen=True)
class FloatGraph:
    """What quantized weights are measured against: the graph TF.js receives (before quantizing),
    its table resources and signature, and the model whose ``accuracy:`` settings pick the samples."""

    model: ModelConfig
    graph_def: Any
    resources: Resources
    signature: dict[str, Any]

    @contextmanager
    def compared_runs(
        self, replaced: Mapping[str, np.ndarray]
    ) -> Iterator[tuple[list[dict[str, np.ndarray]], GraphRunner]]:
        """The float model's outputs on the samples, and a runner that feeds the graph-level constants
        named in ``replaced``; those inside function bodies are written into the runner's copy of the graph."""
        graph_def, samples = unfuse(self.graph_def), model_samples(self.model, self.signature)
        fed = sorted(graph_constants(graph_def) & replaced.keys())  # initializer weights stay as they are
        inside = {name: replaced[name] for name in function_constants(graph_def) & replaced.keys()}
        with GraphRunner(graph_def, self.resources, self.signature, samples, fed) as runner:
            reference = runner.run({})
            if not inside:
                yield reference, runner
                return
        with GraphRunner(with_weights(graph_def, inside), self.resources, self.signature, samples, fed) as runner:
            yield reference, runner


def measure_accuracy(graph: FloatGraph, dequantized: dict[str, np.ndarray]) -> AccuracyFigures:
    """Error figures of the dequantized model against the float one, over the configured samples."""
    with graph.compared_runs(dequantized) as (reference, runner):
        return compare_outputs(reference, runner.run(dequantized))


def auto_dtypes(graph: FloatGraph, weights: Mapping[str, np.ndarray], quantize: Mapping[str, str]) -> AutoChoice:
    """``quantize: auto``: a dtype for each weight ``quantize`` maps to auto (graph-level float32
    constants; the others stay float32), with the explicitly quantized weights in place."""
    feedable = graph_constants(graph.graph_def)  # unfuse adds and removes no constant
    candidates = {name: weights[name] for name, dtype in quantize.items()
                  if dtype == AUTO and name in feedable and weights[name].dtype == np.float32 and weights[name].size}
    fixed = {name: quantized_values(weights[name].astype(np.float32), dtype, name) for name, dtype in quantize.items()
             if dtype in QUANT_DTYPES and weights[name].dtype.kind == "f" and weights[name].size}
    with graph.compared_runs({**fixed, **candidates}) as (reference, runner):

        def evaluate(values: Mapping[str, np.ndarray], count: int | None) -> Measured:
            outputs = runner.run({**fixed, **values}, count)
            figures = compare_outputs(reference[:count], outputs)
            return Measured(figures, mean_squared_difference(reference[:count], outputs))

        max_error = graph.model.accuracy.max_error
        assert max_error is not None  # config/load.py requires it with auto
        return choose_dtypes(candidates, evaluate, max_error)


def model_samples(model: ModelConfig, signature: dict[str, Any]) -> list[dict[str, np.ndarray]]:
    """The accuracy gate's sample inputs for this model (generated, or from ``accuracy.inputs``)."""
    where = model.where("accuracy.inputs")
    return sample_inputs(input_specs(signature), model.accuracy.samples, npz=model.accuracy.inputs, where=where)


def input_specs(signature: dict[str, Any]) -> list[tuple[str, str, list[int | None]]]:
    """(key, numpy dtype name, dims) of the signature's user inputs (resource handles excluded)."""
    return [
        (key, _numpy_dtype(info["dtype"]), _dims(info.get("tensorShape", {})))
        for key, info in signature["inputs"].items()
        if "resourceId" not in info
    ]


def _numpy_dtype(enum_name: str) -> str:
    dtype = tf.dtypes.as_dtype(types_pb2.DataType.Value(enum_name))
    return "string" if dtype == tf.string else np.dtype(dtype.as_numpy_dtype).name


def _dims(shape: dict[str, Any]) -> list[int | None]:
    return [None if int(d.get("size", -1)) < 0 else int(d["size"]) for d in shape.get("dim", [])]


def run_graph(
    graph_def: Any, resources: Resources, signature: dict[str, Any], samples: list[dict[str, np.ndarray]]
) -> list[dict[str, np.ndarray]]:
    """The graph's outputs for each sample, keyed by signature output key."""
    with GraphRunner(graph_def, resources, signature, samples, ()) as runner:
        return runner.run({})


class GraphRunner:
    """``graph_def`` in one TF session, ``fed`` constants replaceable per run (see the module docstring)."""

    def __init__(self, graph_def: Any, resources: Resources, signature: dict[str, Any],
                 samples: list[dict[str, np.ndarray]], fed: Iterable[str]) -> None:
        initializer, resource_inputs, initializer_outputs = resources
        self._samples = samples
        self._graph = tf.Graph()
        with self._graph.as_default():
            input_map = {}
            if initializer is not None:
                tf.graph_util.import_graph_def(initializer, name="")
                sources = [_resource_source(initializer, name) for name in initializer_outputs]
                input_map = {name: self._graph.get_tensor_by_name(src)
                             for name, src in zip(resource_inputs, sources, strict=True)}
            tf.graph_util.import_graph_def(graph_def, input_map=input_map, name="")
        self._fetches = {key: self._graph.get_tensor_by_name(info["name"]) for key, info in signature["outputs"].items()}
        self._inputs = {key: self._graph.get_tensor_by_name(info["name"]) for key, info in signature["inputs"].items()}
        self._session = tf.compat.v1.Session(graph=self._graph)
        if initializer is not None:
            self._session.run(initializer_outputs)  # create and fill the tables once, as TF.js does
        self._fed = {name: self._graph.get_tensor_by_name(f"{name}:0") for name in fed}
        self.originals: dict[str, np.ndarray] = self._session.run(self._fed) if self._fed else {}

    def __enter__(self) -> GraphRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self._session.close()

    def run(self, values: Mapping[str, np.ndarray], samples: int | None = None) -> list[dict[str, np.ndarray]]:
        """Outputs for the first ``samples`` samples (all when None), with ``values`` in place of
        their constants and every other fed constant at its original value."""
        weights = {tensor: values.get(name, self.originals[name]) for name, tensor in self._fed.items()}
        return [
            self._session.run(self._fetches, {**weights, **{self._inputs[key]: value for key, value in sample.items()}})
            for sample in self._samples[:samples]
        ]


def graph_constants(graph_def: Any) -> set[str]:
    """Names of the constants a session can feed: those of the graph itself."""
    return {node.name for node in graph_def.node if node.op == "Const"}


def function_constants(graph_def: Any) -> set[str]:
    """Names of the constants inside function bodies (which a session cannot feed)."""
    return {node.name for function in graph_def.library.function for node in function.node_def if node.op == "Const"}


def _resource_source(initializer: Any, name: str) -> str:
    """The op that creates a resource, behind the Identity chain of an initializer output.

    The inference graph reads the table from there, so each sample finds the table by
    its shared name without running the import (which TF refuses to run twice).
    """
    nodes = {node.name: node for node in initializer.node}
    node = nodes[name.split(":")[0]]
    while node.op == "Identity":
        name = next(ref for ref in node.input if not ref.startswith("^"))
        node = nodes[name.split(":")[0]]
    return name if ":" in name else f"{name}:0"


def with_weights(graph_def: Any, values: dict[str, np.ndarray]) -> Any:
    """A copy of ``graph_def`` whose constants named in ``values`` hold those values."""
    copy = graph_pb2.GraphDef()
    copy.CopyFrom(graph_def)
    nodes = list(copy.node) + [n for f in copy.library.function for n in f.node_def]
    for node in nodes:
        if node.op == "Const" and node.name in values:
            dtype = tf.dtypes.as_dtype(node.attr["dtype"].type)
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(values[node.name].astype(dtype.as_numpy_dtype)))
    return copy


# ---------------------------------------------------------------- TF.js fused ops -> TF ops


def unfuse(graph_def: Any) -> Any:
    """A copy where each TF.js fused node is its base op, BiasAdd and activation again.

    The last node of each expansion keeps the fused node's name, so consumers and
    outputs are unchanged.
    """
    copy = graph_pb2.GraphDef()
    copy.CopyFrom(graph_def)
    expanded = []
    for node in copy.node:
        expanded.extend(_expand(node) if node.op in BASE_OPS else [node])
    del copy.node[:]
    copy.node.extend(expanded)
    return copy


def _expand(node: node_def_pb2.NodeDef) -> list[node_def_pb2.NodeDef]:
    base_op = BASE_OPS[node.op]
    data = [ref for ref in node.input if not ref.startswith("^")]
    control = [ref for ref in node.input if ref.startswith("^")]
    base = _node(f"{node.name}/_base", base_op, data[:2] + control, node, BASE_ATTRS[base_op])
    steps, previous = [base], base.name
    extra = iter(data[2:])
    fused = [op.decode().lower() for op in node.attr["fused_ops"].list.s]
    for index, op in enumerate(fused):
        name = node.name if index == len(fused) - 1 else f"{node.name}/_{op}"
        steps.extend(_activation(op, name, previous, extra, node))
        previous = name
    if not fused:
        steps[-1].name = node.name
    return steps


def _activation(
    op: str, name: str, previous: str, extra: Iterable[str], fused: node_def_pb2.NodeDef
) -> list[node_def_pb2.NodeDef]:
    if op == "biasadd":
        return [_node(name, "BiasAdd", [previous, next(iter(extra))], fused, ("T", "data_format"))]
    if op in UNARY:
        return [_node(name, UNARY[op], [previous], fused, ("T",))]
    if op == "leakyrelu":
        relu = _node(name, "LeakyRelu", [previous], fused, ("T",))
        relu.attr["alpha"].f = fused.attr["leakyrelu_alpha"].f
        return [relu]
    if op == "prelu":  # max(x, 0) + alpha * min(x, 0)
        alpha = next(iter(extra))
        negative = _node(f"{name}/_negative", "Minimum", [previous, f"{name}/_zero"], fused, ("T",))
        zero = _node(f"{name}/_zero", "ZerosLike", [previous], fused, ("T",))
        scaled = _node(f"{name}/_scaled", "Mul", [alpha, negative.name], fused, ("T",))
        positive = _node(f"{name}/_positive", "Relu", [previous], fused, ("T",))
        return [zero, negative, scaled, positive, _node(name, "AddV2", [positive.name, scaled.name], fused, ("T",))]
    raise RuntimeError(f"cannot expand fused activation {op!r} of {fused.name} for evaluation in TensorFlow")


def _node(name: str, op: str, inputs: list[str], source: node_def_pb2.NodeDef, attrs: Iterable[str]) -> node_def_pb2.NodeDef:
    node = node_def_pb2.NodeDef(name=name, op=op, input=inputs)
    for key in attrs:
        if key in source.attr:
            node.attr[key].CopyFrom(source.attr[key])
    if op in ("BiasAdd",) and "data_format" not in node.attr:
        node.attr["data_format"].CopyFrom(attr_value_pb2.AttrValue(s=b"NHWC"))
    return node
