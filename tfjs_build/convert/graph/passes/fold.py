"""Fold batch norms and per-channel scales/shifts into the weights of the layer before them.

A convolution, depthwise convolution or matmul with constant weights, optionally followed by a
constant BiasAdd, is linear per output channel: ``(x*W + b)*s + t == x*(W*s) + (b*s + t)``. So an
inference-mode ``FusedBatchNorm{,V2,V3}`` after it, or the ``Mul``/``Add``/``Sub`` by constants that
Grappler leaves of a Keras 3 BatchNormalization, disappears into new weights and one BiasAdd,
which the fusion pass can then merge into a fused TF.js op. Arithmetic is done in float64.

The node that ends up computing the result takes the name of the last node it replaced, so every
consumer (and every output name) still refers to the same name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tensorflow.core.framework import node_def_pb2

from tfjs_build.convert.graph.editor import GraphEditor, flag, is_float32, matched, nhwc, number

LINEAR_OPS = frozenset({"Conv2D", "DepthwiseConv2dNative", "MatMul"})
ADD_OPS = frozenset({"Add", "AddV2", "BiasAdd", "Sub"})
BATCH_NORMS = frozenset({"FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"})


@dataclass
class Chain:
    """A linear op with constant weights, and the constant BiasAdd after it if any."""

    linear: node_def_pb2.NodeDef
    weights: node_def_pb2.NodeDef
    bias_add: node_def_pb2.NodeDef | None
    bias: node_def_pb2.NodeDef | None
    channels: int
    out_rank: int

    @property
    def last(self) -> node_def_pb2.NodeDef:
        return self.bias_add or self.linear


def linear_chain(ed: GraphEditor, node: node_def_pb2.NodeDef | None, reader: node_def_pb2.NodeDef) -> Chain | None:
    """The chain ending at ``node`` when ``reader`` is the only node reading it (else None)."""
    if node is None or ed.sole_data_consumer(node.name) is not reader:
        return None
    bias_add = bias = None
    linear = node
    if node.op == "BiasAdd":
        bias, linear = ed.producer(node, 1), ed.producer(node, 0)
        bias_value = ed.const(bias)
        if linear is None or bias_value is None or bias_value.ndim != 1 or not nhwc(node):
            return None
        if ed.sole_data_consumer(linear.name) is not node:
            return None
        bias_add = node
    if linear.op not in LINEAR_OPS or not is_float32(linear) or not nhwc(linear):
        return None
    weights = ed.producer(linear, 1)
    value = ed.const(weights)
    if weights is None or value is None:
        return None
    channels, rank = output_channels(linear, value), (2 if linear.op == "MatMul" else 4)
    if bias is not None and matched(ed.const(bias), "the bias").shape != (channels,):
        return None
    return Chain(linear, weights, bias_add, bias, channels, rank)


def output_channels(linear: node_def_pb2.NodeDef, weights: np.ndarray) -> int:
    """Output channels of a conv, depthwise conv or matmul with these weights."""
    if linear.op == "Conv2D":
        return int(weights.shape[3])
    if linear.op == "DepthwiseConv2dNative":
        return int(weights.shape[2] * weights.shape[3])
    return int(weights.shape[0] if flag(linear, "transpose_b") else weights.shape[1])


def channel_vector(value: np.ndarray | None, chain: Chain) -> np.ndarray | None:
    """``value`` as a per-output-channel float64 vector when broadcasting it is exactly that."""
    if value is None or value.dtype != np.float32 or value.ndim > chain.out_rank:
        return None
    if value.size == 1:
        return np.full(chain.channels, float(value.reshape(())), dtype=np.float64)
    if value.shape[-1] != chain.channels or any(d != 1 for d in value.shape[:-1]):
        return None
    return value.reshape(chain.channels).astype(np.float64)


def _scale_weights(chain: Chain, weights: np.ndarray, scale: np.ndarray) -> np.ndarray:
    w = weights.astype(np.float64)
    if chain.linear.op == "DepthwiseConv2dNative":
        return w * scale.reshape(w.shape[2], w.shape[3])
    if chain.linear.op == "MatMul" and flag(chain.linear, "transpose_b"):
        return w * scale[:, None]
    return w * scale


def apply_scale(ed: GraphEditor, chain: Chain, scale: np.ndarray) -> None:
    """Multiply the chain's output channels by ``scale`` (weights and bias)."""
    weights = ed.writable_const(chain.weights, chain.linear, "folded_weights")
    ed.set_const(weights, _scale_weights(chain, matched(ed.const(weights), "the weights"), scale))
    if chain.bias is not None and chain.bias_add is not None:
        bias = ed.writable_const(chain.bias, chain.bias_add, "folded_bias")
        ed.set_const(bias, matched(ed.const(bias), "the bias").astype(np.float64) * scale)
        chain.bias = bias
    chain.weights = weights


def apply_shift(ed: GraphEditor, chain: Chain, shift: np.ndarray, replaced: node_def_pb2.NodeDef) -> None:
    """Add ``shift`` per channel and make the result carry ``replaced``'s name.

    With a BiasAdd already in the chain the shift goes into its bias and the BiasAdd absorbs
    ``replaced``; otherwise ``replaced`` itself becomes ``BiasAdd(linear, shift)``.
    """
    if chain.bias_add is not None and chain.bias is not None:
        bias = ed.writable_const(chain.bias, chain.bias_add, "folded_bias")
        ed.set_const(bias, matched(ed.const(bias), "the bias").astype(np.float64) + shift)
        ed.absorb(chain.bias_add, replaced)
        return
    const = ed.add_const(f"{replaced.name}/bias", shift.astype(np.float32), replaced, like=chain.weights)
    controls = [ref for ref in replaced.input if ref.startswith("^")]
    name, device = replaced.name, replaced.device
    replaced.Clear()
    replaced.name, replaced.op, replaced.device = name, "BiasAdd", device
    replaced.input.extend([chain.linear.name, const.name, *controls])
    replaced.attr["T"].type = chain.linear.attr["T"].type
    replaced.attr["data_format"].s = b"NHWC"
    ed.reindex()


def _fold_mul(ed: GraphEditor, node: node_def_pb2.NodeDef) -> list[str] | None:
    for data, const in ((0, 1), (1, 0)):
        chain = linear_chain(ed, ed.producer(node, data), node)
        scale = channel_vector(ed.const(ed.producer(node, const)), chain) if chain else None
        if chain is not None and scale is not None:
            replaced = [matched(ed.producer(node, const), "the scale").name, chain.weights.name]
            apply_scale(ed, chain, scale)
            ed.absorb(chain.last, node)
            return replaced
    return None


def _fold_add(ed: GraphEditor, node: node_def_pb2.NodeDef) -> list[str] | None:
    orders = ((0, 1),) if node.op in ("BiasAdd", "Sub") else ((0, 1), (1, 0))
    for data, const in orders:
        chain = linear_chain(ed, ed.producer(node, data), node)
        if chain is None or (node.op == "BiasAdd" and chain.bias_add is None):
            continue  # BiasAdd straight after the linear op is already the canonical form
        shift = channel_vector(ed.const(ed.producer(node, const)), chain)
        if shift is not None:
            replaced = [matched(ed.producer(node, const), "the shift").name]
            apply_shift(ed, chain, -shift if node.op == "Sub" else shift, node)
            return replaced
    return _fold_add_into_sum(ed, node) if node.op in ("Add", "AddV2") else None


def _fold_add_into_sum(ed: GraphEditor, node: node_def_pb2.NodeDef) -> list[str] | None:
    """``c + (a + linear)`` -> ``a + (linear + c)``: the shift becomes the linear op's bias.

    Grappler's AddOpsRewrite turns a residual ``x + BN(conv)`` into ``AddV2(shift, AddN(x, conv))``;
    moving the constant back into the conv's bias restores the original association and lets the
    conv fuse.
    """
    for data, const in ((0, 1), (1, 0)):
        total, value = ed.producer(node, data), ed.const(ed.producer(node, const))
        if total is None or total.op not in ("AddN", "Add", "AddV2") or ed.sole_data_consumer(total.name) is not node:
            continue
        for index, ref in enumerate(ref for ref in total.input if not ref.startswith("^")):
            chain = linear_chain(ed, ed.producer(total, index), total)
            shift = channel_vector(value, chain) if chain is not None else None
            if chain is None or shift is None:
                continue
            replaced = [matched(ed.producer(node, const), "the shift").name]
            if chain.bias is not None:
                bias = ed.writable_const(chain.bias, chain.last, "folded_bias")
                ed.set_const(bias, matched(ed.const(bias), "the bias").astype(np.float64) + shift)
            else:
                const_node = ed.add_const(
                    f"{chain.linear.name}/bias", shift.astype(np.float32), total, like=chain.weights
                )
                bias_add = ed.add_node(f"{chain.linear.name}/BiasAdd", "BiasAdd", [ref, const_node.name], total)
                bias_add.attr["T"].type = chain.linear.attr["T"].type
                bias_add.attr["data_format"].s = b"NHWC"
                total.input[index] = bias_add.name
                ed.reindex()
            ed.absorb(total, node)
            return replaced
    return None


def _fold_batch_norm(ed: GraphEditor, node: node_def_pb2.NodeDef) -> list[str] | None:
    if flag(node, "is_training", default=True) or not nhwc(node) or any(port != 0 for _, port, _ in ed.uses(node.name)):
        return None
    chain = linear_chain(ed, ed.producer(node, 0), node)
    params = [ed.const(ed.producer(node, i)) for i in range(1, 5)]
    if chain is None or any(channel_vector(p, chain) is None for p in params):
        return None
    scale, offset, mean, variance = (matched(channel_vector(p, chain), "a batch norm parameter") for p in params)
    factor = scale / np.sqrt(variance + number(node, "epsilon", 1e-4))
    replaced = [matched(ed.producer(node, i), "a batch norm parameter").name for i in range(1, 5)] + [chain.weights.name]
    apply_scale(ed, chain, factor)
    apply_shift(ed, chain, offset - mean * factor, node)
    return replaced


def fold_into_weights(ed: GraphEditor) -> list[str]:
    """Fold until nothing more folds; returns the names of the folded nodes, in order."""
    folded: list[str] = []
    changed = True
    while changed:
        changed = False
        for node in ed:
            if not ed.alive(node) or not is_float32(node):
                continue
            name = node.name
            if node.op == "Mul":
                replaced = _fold_mul(ed, node)
            elif node.op in ADD_OPS:
                replaced = _fold_add(ed, node)
            elif node.op in BATCH_NORMS:
                replaced = _fold_batch_norm(ed, node)
            else:
                continue
            if replaced is not None:
                folded.append(name)
                ed.drop_orphans(replaced)
                changed = True
    return folded
