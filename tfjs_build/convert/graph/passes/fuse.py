"""Fuse conv/depthwise/matmul + BiasAdd (+ activation) into the fused ops TF.js executes.

TF.js runs ``_FusedConv2D``, ``FusedDepthwiseConv2dNative`` and ``_FusedMatMul`` in one kernel; its
converter executors read ``fused_ops`` (lower-cased: ``[biasadd, relu]``), ``num_args`` (1: the bias;
2 with a prelu alpha) and ``leakyrelu_alpha``. A backend can register a fused kernel and still compute
a fusion wrongly (TF.js 4.22 drops ``leakyrelu_alpha`` on ``FusedDepthwiseConv2dNative``), so a fusion
is emitted only when ``tfjs_build.checks.fusion_support`` has it PROVEN, by running it, on every
target backend; otherwise the activation (or the bias) stays a separate op and the report says why.
``FUSED_OP`` and ``ACTIVATIONS`` are also the list ``scripts/gen_fusion_support.py`` measures.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from tensorflow.core.framework import attr_value_pb2, node_def_pb2

from tfjs_build.checks import fusion_support as fs
from tfjs_build.checks import op_support as ops
from tfjs_build.convert.graph.editor import GraphEditor, Node, flag, is_float32, nhwc, number
from tfjs_build.convert.graph.passes.fold import output_channels

FUSED_OP = {"Conv2D": "_FusedConv2D", "DepthwiseConv2dNative": "FusedDepthwiseConv2dNative", "MatMul": "_FusedMatMul"}
# TF activation op -> the name TF.js's fused kernels know it by.
ACTIVATIONS = {"Relu": "relu", "Relu6": "relu6", "Elu": "elu", "LeakyRelu": "leakyrelu", "Sigmoid": "sigmoid", "Tanh": "tanh"}
# The attrs each fused op carries (the TF op's attrs; TF.js ignores the ones it does not read).
FUSED_ATTRS = {
    "_FusedConv2D": ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations", "use_cudnn_on_gpu"),
    "FusedDepthwiseConv2dNative": ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations"),
    "_FusedMatMul": ("T", "transpose_a", "transpose_b"),
}
DEFAULT_LEAKY_ALPHA = 0.2


def fusable_linear(ed: GraphEditor, bias_add: node_def_pb2.NodeDef) -> node_def_pb2.NodeDef | None:
    """The conv/depthwise/matmul whose only reader is ``bias_add`` (or an activation), if fusable."""
    linear = ed.producer(bias_add, 0)
    if linear is None or linear.op not in FUSED_OP or ed.sole_data_consumer(linear.name) is not bias_add:
        return None
    if not (is_float32(linear) and nhwc(linear) and nhwc(bias_add)):
        return None
    return linear


def fusion_of(linear: Node, activation: str = fs.NO_ACTIVATION, *, bias: bool = True, param: str = "") -> fs.Fusion:
    """The fused form ``linear`` would take, as ``fusion_support`` keys it (its kernel-picking attrs too)."""
    op = FUSED_OP[linear.op]
    flags = {name: flag(linear, name) for name in fs.TRAIT_ATTRS.get(op, ())}
    return fs.Fusion(op, activation, bias, param, fs.traits_of(op, flags))


def _copy(value: attr_value_pb2.AttrValue) -> attr_value_pb2.AttrValue:
    copy = attr_value_pb2.AttrValue()
    copy.CopyFrom(value)
    return copy


def make_fused(
    linear: node_def_pb2.NodeDef, bias_ref: str, activation: str | None, *,
    leaky_alpha: float = DEFAULT_LEAKY_ALPHA, prelu_alpha_ref: str | None = None,
) -> None:
    """Turn ``linear`` in place into its fused op with the bias and optional activation (a TF op name;
    ``Prelu`` takes its alpha as the second extra argument, as TF.js's executors read it)."""
    fused_op = FUSED_OP[linear.op]
    kept = {key: _copy(linear.attr[key]) for key in FUSED_ATTRS[fused_op] if key in linear.attr}
    data = [ref for ref in linear.input if not ref.startswith("^")][:2]
    controls = [ref for ref in linear.input if ref.startswith("^")]
    fused_ops = [b"BiasAdd"] + ([activation.encode()] if activation is not None else [])
    extra = [bias_ref] + ([prelu_alpha_ref] if prelu_alpha_ref is not None else [])
    linear.op = fused_op
    linear.ClearField("attr")
    for key, value in kept.items():
        linear.attr[key].CopyFrom(value)
    linear.attr["fused_ops"].list.s.extend(fused_ops)
    linear.attr["num_args"].i = len(extra)
    linear.attr["epsilon"].f = 0.0
    linear.attr["leakyrelu_alpha"].f = leaky_alpha
    if fused_op == "_FusedConv2D":  # TF's own op needs these to import; TF.js ignores them
        types = attr_value_pb2.AttrValue.ListValue(type=[kept["T"].type] * len(extra))
        linear.attr["TArgs"].CopyFrom(attr_value_pb2.AttrValue(list=types))
        linear.attr["num_host_args"].i = 0
    del linear.input[:]
    linear.input.extend([*data, *extra, *controls])


def zero_bias(ed: GraphEditor, linear: node_def_pb2.NodeDef) -> str | None:
    """A shared all-zero bias for ``linear``'s channel count (None when its weights are not constant).

    Weights with control inputs (inside a loop frame) get their own zero bias with the same ones.
    """
    weights_node = ed.producer(linear, 1)
    weights = ed.const(weights_node)
    if weights_node is None or weights is None:
        return None
    channels = output_channels(linear, weights)
    if any(ref.startswith("^") for ref in weights_node.input):
        zeros = ed.add_const(f"{linear.name}{fs.ZERO_BIAS_SUFFIX}", np.zeros(channels, np.float32), linear, like=weights_node)
        return zeros.name
    name = f"{fs.ZERO_BIAS_PREFIX}{channels}"
    if name not in ed.nodes:
        ed.add_const(name, np.zeros(channels, np.float32), linear)
    return name


def fuse_for_tfjs(ed: GraphEditor, backends: tuple[str, ...]) -> tuple[Counter[str], Counter[fs.Fusion]]:
    """Fuse every pattern proven on ``backends``; returns (fused op counts, fusions withheld).

    ``linear -> BiasAdd [-> activation]`` fuses with its bias; ``linear -> activation`` (a conv
    without bias, e.g. after Grappler merged a default batch norm into it) fuses with a zero bias,
    which is exact and saves TF.js a kernel per layer.
    """
    allowed_ops = {op for op in FUSED_OP.values() if ops.is_supported(op, backends)}
    fused: Counter[str] = Counter()
    withheld: Counter[fs.Fusion] = Counter()
    for node in ed:
        if not ed.alive(node) or not is_float32(node) or (node.op != "BiasAdd" and node.op not in ACTIVATIONS):
            continue
        linear = fusable_linear(ed, node)
        if linear is None or FUSED_OP[linear.op] not in allowed_ops:
            continue
        chosen = _proven_form(ed, linear, node, backends, withheld)
        if chosen is None:
            continue
        bias_ref, bias_add, activation = chosen
        fused[FUSED_OP[linear.op]] += 1
        leaky = activation is not None and activation.op == "LeakyRelu"
        make_fused(
            linear, bias_ref, activation.op if activation is not None else None,
            leaky_alpha=number(activation, "alpha", DEFAULT_LEAKY_ALPHA) if leaky else DEFAULT_LEAKY_ALPHA,
        )
        for absorbed in (bias_add, activation):
            if absorbed is not None:
                ed.absorb(linear, absorbed)
    return fused, withheld


def _proven_form(
    ed: GraphEditor, linear: Node, node: Node, backends: tuple[str, ...], withheld: Counter[fs.Fusion]
) -> tuple[str, Node | None, Node | None] | None:
    """(bias ref, BiasAdd, activation) of the largest fusion proven on ``backends``, or None.

    ``node`` is the BiasAdd or (no bias) the activation after ``linear``; a fusion the table does
    not prove is counted in ``withheld`` and the next smaller one is tried.
    """
    if node.op != "BiasAdd":
        fusion = fusion_of(linear, ACTIVATIONS[node.op], bias=False)
        if not fs.is_proven(fusion, backends):
            withheld[fusion] += 1
            return None
        bias_ref = zero_bias(ed, linear)
        return None if bias_ref is None else (bias_ref, None, node)
    bias_ref = [ref for ref in node.input if not ref.startswith("^")][1]
    activation = ed.sole_data_consumer(node.name)
    if activation is not None and activation.op in ACTIVATIONS and is_float32(activation):
        fusion = fusion_of(linear, ACTIVATIONS[activation.op])
        if fs.is_proven(fusion, backends):
            return bias_ref, node, activation
        withheld[fusion] += 1
    bias_only = fusion_of(linear)
    if not fs.is_proven(bias_only, backends):
        withheld[bias_only] += 1
        return None
    return bias_ref, node, None


def withheld_notes(withheld: Counter[fs.Fusion], backends: tuple[str, ...]) -> list[str]:
    """One report line per fusion kept apart, naming each backend it is not proven on and why."""
    notes = []
    for fusion, count in sorted(withheld.items()):
        reasons = "; ".join(f"{backend}: {why}" for backend, why in fs.failing(fusion, backends).items())
        kept = "the activation" if fusion.activation != fs.NO_ACTIVATION else "the BiasAdd"
        notes.append(
            f"withheld {count} {fusion.describe()} fusion{'s' if count != 1 else ''} ({kept} stays a separate op): "
            f"not proven in TF.js {fs.load().tfjs_version} ({reasons})"
        )
    return notes
