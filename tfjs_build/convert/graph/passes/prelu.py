"""Recognise Keras's PReLU lowering after a conv/matmul and fuse it as TF.js's ``prelu`` activation.

TF has no PReLU op: Keras lowers ``PReLU`` to ``relu(x) + (-alpha) * relu(-x)``, five nodes that
Grappler leaves as ``AddV2(Relu(x), Mul(c, Relu(Neg(x))))`` with ``c = -alpha`` folded. That is
exactly ``prelu(x, alpha)``, which TF.js runs inside its fused conv/matmul kernels
(``fused_ops: [BiasAdd, Prelu]``, alpha as the second extra argument): per channel (rank 1), or, after
a convolution, per position (Keras's default ``[H, W, C]`` alpha, kept rank 3). Each layout is fused
only where ``fusion_support`` has it proven (webgl computes per-position alphas wrongly in TF.js
4.22). A standalone ``Prelu`` is never emitted (TensorFlow could not run it, and nothing is saved),
so a PReLU that does not follow a fusable conv/matmul, or is not proven, stays as it was.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from tfjs_build.checks import fusion_support as fs
from tfjs_build.checks import op_support as ops
from tfjs_build.convert.graph.editor import GraphEditor, Node, is_float32, matched, nhwc
from tfjs_build.convert.graph.passes.fuse import FUSED_OP, fusable_linear, fusion_of, make_fused, zero_bias

PRELU = "prelu"  # TF.js's name for the activation
# Alpha layouts this pass emits (the parameter classes gen_fusion_support.py measures), and the ops
# after which an alpha may vary by position: a matmul's output has channels only.
ALPHA_LAYOUTS = (fs.PER_CHANNEL, fs.PER_POSITION)
CONVS = ("Conv2D", "DepthwiseConv2dNative")


@dataclass
class PreluMatch:
    x: Node  # the BiasAdd or the linear op itself
    linear: Node
    nodes: tuple[Node, Node, Node, Node]  # Relu(x), Neg(x), Relu(Neg), Mul
    negative_alpha: Node  # the Const c = -alpha
    out: Node  # the AddV2 whose name the fused node takes


def _only_reader(ed: GraphEditor, node: Node | None, op: str, reader: Node) -> bool:
    return node is not None and node.op == op and ed.sole_data_consumer(node.name) is reader


def _linear(ed: GraphEditor, x: Node) -> Node | None:
    """The fusable conv/matmul that ``x`` is (or that feeds only the BiasAdd ``x``)."""
    if x.op == "BiasAdd":
        return fusable_linear(ed, x)
    return x if x.op in FUSED_OP and is_float32(x) and nhwc(x) else None


def _match(ed: GraphEditor, out: Node) -> PreluMatch | None:
    for a, b in ((0, 1), (1, 0)):
        relu, mul = ed.producer(out, a), ed.producer(out, b)
        if not (_only_reader(ed, relu, "Relu", out) and _only_reader(ed, mul, "Mul", out)):
            continue
        for c, r in ((0, 1), (1, 0)):
            const, relu_neg = ed.producer(mul, c), ed.producer(mul, r)
            if ed.const(const) is None or not _only_reader(ed, relu_neg, "Relu", mul):
                continue
            neg = ed.producer(relu_neg, 0)
            x = ed.producer(relu, 0)
            # x is None last: mypy widens x again after the identity test
            if not _only_reader(ed, neg, "Neg", relu_neg) or ed.producer(neg, 0) is not x or x is None:
                continue
            readers = {id(u) for u, port, control in ed.uses(x.name) if port == 0 and not control}
            if x.name in ed.protected or len(ed.uses(x.name)) != 2 or readers != {id(relu), id(neg)}:
                continue
            linear = _linear(ed, x)
            if linear is not None:
                return PreluMatch(x, linear, (relu, neg, relu_neg, mul), const, out)
    return None


def _alpha(value: np.ndarray, linear: Node) -> tuple[np.ndarray, str] | None:
    """(alpha, layout): per channel when the same at every position, else per position ([H, W, C],
    after a convolution); None for any other layout."""
    alpha = -value.astype(np.float32)
    flat = alpha.reshape(-1, alpha.shape[-1]) if alpha.ndim else alpha.reshape(1, 1)
    if (flat == flat[0]).all():
        return flat[0], fs.PER_CHANNEL
    return (alpha, fs.PER_POSITION) if alpha.ndim == 3 and linear.op in CONVS else None


def fuse_prelu(ed: GraphEditor, backends: tuple[str, ...]) -> tuple[int, Counter[fs.Fusion]]:
    """Fuse every Keras PReLU that follows a fusable conv/matmul, where proven; returns (how many, withheld)."""
    fused = 0
    withheld: Counter[fs.Fusion] = Counter()
    for out in ed:
        if not ed.alive(out) or out.op not in ("Add", "AddV2") or not is_float32(out):
            continue
        match = _match(ed, out)
        if match is None or not ops.is_supported(FUSED_OP[match.linear.op], backends):
            continue
        alpha = _alpha(matched(ed.const(match.negative_alpha), "the PReLU alpha"), match.linear)
        if alpha is None:
            continue
        fusion = fusion_of(match.linear, PRELU, bias=match.x is not match.linear, param=alpha[1])
        if not fs.is_proven(fusion, backends):
            withheld[fusion] += 1
            continue
        bias_ref = (
            [ref for ref in match.x.input if not ref.startswith("^")][1]
            if fusion.bias else zero_bias(ed, match.linear)
        )
        if bias_ref is None:
            continue
        alpha_node = ed.add_const(f"{out.name}/alpha", alpha[0], out, like=match.negative_alpha)
        ed.remove([node.name for node in match.nodes])
        make_fused(match.linear, bias_ref, "Prelu", prelu_alpha_ref=alpha_node.name)
        if fusion.bias:
            ed.absorb(match.linear, match.x)
        ed.absorb(match.linear, out)
        ed.drop_orphans([match.negative_alpha.name])
        fused += 1
    return fused, withheld
