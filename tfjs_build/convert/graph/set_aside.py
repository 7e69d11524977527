"""Keep layer weights out of Grappler: its copies of them are a conversion's peak memory.

Grappler holds several copies of every constant while it optimizes. Large float
constants that only feed a convolution's or matmul's weight input (through Identity
nodes, as frozen variables do) are swapped for Placeholders of the same dtype and
shape before Grappler runs and swapped back after. Grappler then cannot fold a
batch norm's scale into those weights; ``fold.py`` does that afterwards, so the
graph comes out as small. Constants Grappler reads as values (shapes, axes, batch-
norm parameters) are small and stay.
"""

from __future__ import annotations

from typing import Any

from tensorflow.core.framework import node_def_pb2

from tfjs_build.convert.graph.editor import split_input

MIN_BYTES = 4096
FLOAT_DTYPES = frozenset({1, 2, 14, 19})  # DT_FLOAT, DT_DOUBLE, DT_BFLOAT16, DT_HALF
# op -> the input index that takes weights (where a constant gains nothing from Grappler)
WEIGHT_INPUTS = {"Conv2D": 1, "DepthwiseConv2dNative": 1, "MatMul": 1, "Conv3D": 1, "Conv2DBackpropInput": 1}


def set_weights_aside(graph_def: Any, keep: set[str]) -> dict[str, node_def_pb2.NodeDef]:
    """Replace large weight constants in ``graph_def`` by Placeholders; returns them by name."""
    consumers: dict[str, list[tuple[node_def_pb2.NodeDef, int]]] = {}
    for node in graph_def.node:
        for index, ref in enumerate(node.input):
            name, _, control = split_input(ref)
            consumers.setdefault(name, []).append((node, -1 if control else index))
    aside: dict[str, node_def_pb2.NodeDef] = {}
    for node in graph_def.node:
        tensor = node.attr["value"].tensor if node.op == "Const" else None
        if tensor is None or node.name in keep or tensor.dtype not in FLOAT_DTYPES:
            continue
        if len(tensor.tensor_content) < MIN_BYTES or not _only_weights(node.name, consumers, keep):
            continue
        saved = node_def_pb2.NodeDef()
        saved.CopyFrom(node)
        aside[node.name] = saved
        node.op = "Placeholder"
        node.ClearField("attr")
        node.attr["dtype"].type = tensor.dtype
        node.attr["shape"].shape.CopyFrom(saved.attr["value"].tensor.tensor_shape)
    return aside


def put_weights_back(graph_def: Any, aside: dict[str, node_def_pb2.NodeDef]) -> None:
    """The constants set aside, back in place of the Placeholders that survived Grappler."""
    for node in graph_def.node:
        saved = aside.get(node.name)
        if saved is not None and node.op == "Placeholder":
            inputs = list(node.input)  # as Grappler left the control edges
            node.CopyFrom(saved)
            node.input[:] = inputs


def _only_weights(name: str, consumers: dict[str, list[tuple[node_def_pb2.NodeDef, int]]], keep: set[str]) -> bool:
    """Whether every data use of ``name`` (through Identity nodes) is a weight input."""
    uses = [(node, index) for node, index in consumers.get(name, []) if index >= 0]  # control edges: any
    for node, index in uses:
        if node.op == "Identity" and index == 0 and node.name not in keep:
            if not _only_weights(node.name, consumers, keep):
                return False
        elif WEIGHT_INPUTS.get(node.op) != index:
            return False
    return bool(uses)
