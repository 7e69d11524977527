"""Two-operand ``Einsum`` as Transpose + BatchMatMulV2 (+ Transpose), for backends without Einsum.

TF.js 4.22's wasm backend has no Einsum kernel, and Keras's MultiHeadAttention leaves two
(``BTNH,BSNH->BNTS`` and ``BNTS,BSNH->BTNH``) after Grappler. Such an einsum is a batched
matmul: labels in both operands and the output are batch dims, one label only in the left operand
and the output is the rows, one only in the right operand and the output the columns, one in both
operands but not the output is contracted. Transposes bring the operands to ``batch + rows + k``
and ``batch + k + cols`` (or the adjoint flags absorb the swap), and one more puts the result
in the output order. Other equations (ellipsis, repeated labels, several labels per role) stay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tensorflow.core.framework import node_def_pb2

from tfjs_build.convert.graph.editor import GraphEditor, dtype_of

Node = node_def_pb2.NodeDef
INT32 = 3  # DT_INT32


@dataclass(frozen=True)
class Plan:
    """How to compute one einsum with BatchMatMulV2."""

    lhs_perm: tuple[int, ...] | None  # None: no transpose needed
    rhs_perm: tuple[int, ...] | None
    adj_x: bool
    adj_y: bool
    out_perm: tuple[int, ...] | None


def _perm(source: str, target: str) -> tuple[int, ...] | None:
    perm = tuple(source.index(label) for label in target)
    return None if perm == tuple(range(len(perm))) else perm


def plan(equation: str) -> Plan | None:
    """The matmul plan for ``equation``, or None when it is not a single batched matmul."""
    if "." in equation or "->" not in equation:
        return None
    inputs, out = equation.replace(" ", "").split("->")
    operands = inputs.split(",")
    if len(operands) != 2:
        return None
    lhs, rhs = operands
    if any(len(set(term)) != len(term) or not term.isalpha() for term in (lhs, rhs, out)):
        return None
    if set(out) - set(lhs) - set(rhs) or (set(lhs) ^ set(rhs)) - set(out):
        return None  # a label made up, or summed within one operand
    batch = [label for label in out if label in lhs and label in rhs]
    rows = [label for label in lhs if label in out and label not in rhs]
    cols = [label for label in rhs if label in out and label not in lhs]
    contracted = [label for label in lhs if label in rhs and label not in out]
    if len(rows) != 1 or len(cols) != 1 or len(contracted) != 1:
        return None
    b, m, n, k = "".join(batch), rows[0], cols[0], contracted[0]
    adj_x = _perm(lhs, b + k + m) is None and _perm(lhs, b + m + k) is not None
    adj_y = _perm(rhs, b + n + k) is None and _perm(rhs, b + k + n) is not None
    return Plan(
        lhs_perm=None if adj_x else _perm(lhs, b + m + k),
        rhs_perm=None if adj_y else _perm(rhs, b + k + n),
        adj_x=adj_x,
        adj_y=adj_y,
        out_perm=_perm(b + m + n, out),
    )


def equation_of(node: Node) -> str:
    return node.attr["equation"].s.decode("utf-8", "replace") if "equation" in node.attr else ""


def applies(node: Node) -> bool:
    return plan(equation_of(node)) is not None


def _transpose(ed: GraphEditor, node: Node, name: str, source: str, perm: tuple[int, ...], before: Node) -> Node:
    perm_const = ed.add_const(f"{name}/perm", np.array(perm, dtype=np.int32), before)
    transpose = ed.add_node(name, "Transpose", [source, perm_const.name], before)
    transpose.attr["T"].type = dtype_of(node)
    transpose.attr["Tperm"].type = INT32
    return transpose


def rewrite(ed: GraphEditor, node: Node) -> None:
    """Replace ``node`` in place; the node computing the result keeps its name."""
    steps = plan(equation_of(node))
    assert steps is not None, "rewrite() called for an equation plan() rejected"
    lhs, rhs = [ref for ref in node.input if not ref.startswith("^")][:2]
    controls = [ref for ref in node.input if ref.startswith("^")]
    if steps.lhs_perm is not None:
        lhs = _transpose(ed, node, f"{node.name}/lhs", lhs, steps.lhs_perm, node).name
    if steps.rhs_perm is not None:
        rhs = _transpose(ed, node, f"{node.name}/rhs", rhs, steps.rhs_perm, node).name
    dtype = dtype_of(node)
    matmul = node
    if steps.out_perm is not None:
        matmul = ed.add_node(f"{node.name}/matmul", "BatchMatMulV2", [], node)
    matmul.op = "BatchMatMulV2"
    matmul.ClearField("attr")
    matmul.attr["T"].type = dtype
    matmul.attr["adj_x"].b = steps.adj_x
    matmul.attr["adj_y"].b = steps.adj_y
    del matmul.input[:]
    matmul.input.extend([lhs, rhs, *(controls if matmul is node else [])])
    if steps.out_perm is not None:
        perm_const = ed.add_const(f"{node.name}/perm", np.array(steps.out_perm, dtype=np.int32), node)
        node.op = "Transpose"
        node.ClearField("attr")
        node.attr["T"].type = dtype
        node.attr["Tperm"].type = INT32
        del node.input[:]
        node.input.extend([matmul.name, perm_const.name, *controls])
    ed.reindex()
