"""Exact rewrites of ops TF.js lacks into ops it has.

Each rewrite keeps the node's name on the node that produces the result, so consumers and
output names are untouched. A rewrite is used only when the op is unsupported on some target
backend and every op of its replacement is supported on all of them; one that needs what only
the graph tells (a rank, a constant) may still decline a node, which then stays and is refused.
Where they come from: ``Erfc`` is what Keras 3's exact GELU lowers to (``0.5*x*erfc(-x/sqrt(2))``),
``Softsign`` is Keras's softsign activation, ``Xlogy``/``Xdivy`` appear in losses and entropy
terms, ``Inv``, ``Rint`` and ``BatchMatMulV3`` are older or wider spellings of ops TF.js has, and
every one- or two-operand ``Einsum`` (Keras EinsumDense and attention: BERT, GPT-2, Llama; no
wasm kernel) is transposes, reshapes and a batched matmul (see ``einsum.py``). ``Roll`` (Swin) and
``XlaDynamicUpdateSlice`` (``keras.ops.slice_update``) are slices and concats (``slicing.py``);
``RFFT`` (``tf.signal.stft``; no wasm kernel) with its ``ComplexAbs``/``Real``/``Imag`` readers is
real matmuls with DFT matrices (``dft.py``).

Rewrites apply to the main graph only; ``check_supported`` still reports these ops inside
function bodies (control flow v2), where names and output references work differently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from tfjs_build.checks import op_support as ops
from tfjs_build.convert.graph.editor import GraphEditor, Node, dtype_of, flag
from tfjs_build.convert.graph.passes import dft, einsum, slicing
from tfjs_build.convert.graph.passes.shapes import Shapes

DECLINED = "_tfjs_build_not_rewritable"  # a rewrite saw the graph and could not apply
DFT_OPS = ("MatMul", "BatchMatMulV2", "ExpandDims", "Squeeze", "Square", "AddV2", "Sqrt", "Identity", "Const")


@dataclass(frozen=True)
class Rewrite:
    op: str
    formula: str
    needs: tuple[str, ...]
    apply: Callable[[GraphEditor, Node, Shapes], bool]  # False: this node cannot be rewritten after all
    applies: Callable[[Node], bool] = lambda node: True  # what the node alone tells (checked before optimising)


def _data(node: Node) -> list[str]:
    return [ref for ref in node.input if not ref.startswith("^")]


def _become(node: Node, op: str, inputs: list[str], attrs: dict[str, int | bool] | None = None) -> None:
    """Turn ``node`` in place into ``op(inputs)``, keeping its name, device, dtype and control inputs."""
    controls = [ref for ref in node.input if ref.startswith("^")]
    dtype = dtype_of(node)
    node.op = op
    node.ClearField("attr")
    node.attr["T"].type = dtype
    for key, value in (attrs or {}).items():
        if isinstance(value, bool):
            node.attr[key].b = value
        else:
            node.attr[key].type = value
    del node.input[:]
    node.input.extend([*inputs, *controls])


def _unary(ed: GraphEditor, node: Node, op: str, suffix: str, inputs: list[str]) -> str:
    """A new ``op`` node of the same dtype next to ``node``; returns its name."""
    new = ed.add_node(f"{node.name}/{suffix}", op, inputs, node)
    new.attr["T"].type = dtype_of(node)
    return new.name


def _scalar(ed: GraphEditor, node: Node, value: float, suffix: str) -> str:
    dtype = tf.as_dtype(dtype_of(node)).as_numpy_dtype
    return ed.add_const(f"{node.name}/{suffix}", np.array(value, dtype=dtype), node).name


def _erfc(ed: GraphEditor, node: Node, shapes: Shapes) -> bool:
    erf = _unary(ed, node, "Erf", "erf", _data(node)[:1])
    _become(node, "Sub", [_scalar(ed, node, 1.0, "one"), erf])
    return True


def _softsign(ed: GraphEditor, node: Node, shapes: Shapes) -> bool:
    x = _data(node)[0]
    denominator = _unary(ed, node, "AddV2", "one_plus_abs", [_scalar(ed, node, 1.0, "one"), _unary(ed, node, "Abs", "abs", [x])])
    _become(node, "RealDiv", [x, denominator])
    return True


def _zero_where_x_is_zero(op: str) -> Callable[[GraphEditor, Node, Shapes], bool]:
    def apply(ed: GraphEditor, node: Node, shapes: Shapes) -> bool:
        x, y = _data(node)[:2]
        zero = _scalar(ed, node, 0.0, "zero")
        is_zero = _unary(ed, node, "Equal", "x_is_zero", [x, zero])
        ed.nodes[is_zero].attr["incompatible_shape_error"].b = True
        rhs = _unary(ed, node, "Log", "log_y", [y]) if op == "Mul" else y
        value = _unary(ed, node, op, "value", [x, rhs])
        _become(node, "SelectV2", [is_zero, zero, value])
        return True

    return apply


def _rename(op: str) -> Callable[[GraphEditor, Node, Shapes], bool]:
    def apply(ed: GraphEditor, node: Node, shapes: Shapes) -> bool:
        _become(node, op, _data(node))
        return True

    return apply


def _same_dtypes(node: Node) -> bool:
    return node.attr["Ta"].type == node.attr["Tb"].type == node.attr["Tout"].type


def _batch_matmul_v3(ed: GraphEditor, node: Node, shapes: Shapes) -> bool:
    adj_x, adj_y = flag(node, "adj_x"), flag(node, "adj_y")
    node.attr["T"].type = node.attr["Ta"].type
    _become(node, "BatchMatMulV2", _data(node), {"adj_x": adj_x, "adj_y": adj_y})
    return True


REWRITES = {
    r.op: r
    for r in (
        Rewrite("Erfc", "1 - Erf(x)", ("Sub", "Erf", "Const"), _erfc),
        Rewrite("Softsign", "x / (1 + |x|)", ("RealDiv", "AddV2", "Abs", "Const"), _softsign),
        Rewrite("Xlogy", "x == 0 ? 0 : x * Log(y)", ("SelectV2", "Equal", "Mul", "Log", "Const"), _zero_where_x_is_zero("Mul")),
        Rewrite("Xdivy", "x == 0 ? 0 : x / y", ("SelectV2", "Equal", "RealDiv", "Const"), _zero_where_x_is_zero("RealDiv")),
        Rewrite("Inv", "Reciprocal(x)", ("Reciprocal",), _rename("Reciprocal")),
        Rewrite("Rint", "Round(x) (both round half to even)", ("Round",), _rename("Round")),
        Rewrite(
            "BatchMatMulV3", "BatchMatMulV2 (same input and output dtypes)", ("BatchMatMulV2",), _batch_matmul_v3,
            _same_dtypes,
        ),
        Rewrite(
            "Einsum", "Transpose/Reshape/GatherV2/Sum + BatchMatMulV2",
            ("Transpose", "Reshape", "GatherV2", "Sum", "BatchMatMulV2", "Shape", "Prod", "ConcatV2", "Slice", "Maximum",
             "BroadcastTo", "Identity", "Const"),
            einsum.rewrite, einsum.applies,
        ),
        Rewrite("Roll", "Slice + ConcatV2 (constant shifts)", ("Slice", "ConcatV2", "Identity", "Const"), slicing.rewrite_roll),
        Rewrite(
            "XlaDynamicUpdateSlice", "Slice + ConcatV2 (constant indices)", ("Slice", "ConcatV2", "Identity", "Const"),
            slicing.rewrite_update_slice,
        ),
        Rewrite(
            "RFFT", "real matmuls with cosine/sine DFT matrices (static length), its ComplexAbs as sqrt(re^2 + im^2)",
            DFT_OPS, dft.rewrite_rfft,
        ),
        *(Rewrite(op, "part of its RFFT's DFT matmuls", DFT_OPS, dft.rewrite_consumer) for op in dft.CONSUMERS),
    )
}


def rewrite_for(op: str, backends: tuple[str, ...]) -> Rewrite | None:
    """The rewrite to use for ``op`` on ``backends``, if the op needs one and one exists."""
    rewrite = REWRITES.get(op)
    if rewrite is None or ops.is_supported(op, backends):
        return None
    return rewrite if all(ops.is_supported(need, backends) for need in rewrite.needs) else None


def rewrite_for_node(node: Node, backends: tuple[str, ...]) -> Rewrite | None:
    """The rewrite ``node`` gets on ``backends`` (None: it needs none, or none fits it)."""
    if DECLINED in node.attr:
        return None
    rewrite = rewrite_for(node.op, backends)
    return rewrite if rewrite is not None and rewrite.applies(node) else None


def apply_rewrites(ed: GraphEditor, backends: tuple[str, ...], shapes: Shapes | None = None) -> list[str]:
    """Rewrite every main-graph node that needs it; one report line per rewritten op type."""
    done: dict[str, list[str]] = {}
    shapes = shapes or Shapes(ed)
    for node in ed:
        rewrite = rewrite_for_node(node, backends) if ed.alive(node) else None
        if rewrite is None:
            continue
        if rewrite.apply(ed, node, shapes):
            done.setdefault(rewrite.op, []).append(node.name)
            ed.reindex()
        elif ed.alive(node):
            node.attr[DECLINED].b = True  # so the check after optimising reports it (TF-only attr, stripped later)
    lines = []
    for op, names in done.items():
        shown = ", ".join(names[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")
        lacking = ", ".join(backend for backend in backends if not ops.is_supported(op, [backend]))
        lines.append(
            f"rewrote {len(names)} {op} node{'s' if len(names) != 1 else ''} as {REWRITES[op].formula} "
            f"(TF.js {ops.tfjs_version()} cannot run {op} on {lacking}): {shown}"
        )
    return lines
