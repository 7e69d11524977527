"""Rewrite, or refuse, the nodes TF.js computes wrongly on a target backend (issue 10).

``tfjs_build/checks/op_defects.json`` (``scripts/gen_op_defects.py``) lists, per backend, the
measured cases TF.js 4.22 gets wrong: ``Cumsum (axis < 0)`` (shapes ``[null, ...]`` on cpu, an
out-of-bounds access on wasm, a shader that does not compile on webgl), ``Mod`` (TF.js floors where
TF truncates), ``OneHot (other axis)``, float ``FloorDiv`` returning int32, ... Each node is matched
to the cases it is an instance of; where one is wrong on a target backend, the rewrite registered
for that case (``REWRITES``) replaces the node by ops computing the same thing. Whatever is still an
instance of a wrong case afterwards (no rewrite, or one that needs a rank the graph does not tell)
is marked, and ``refuse_marked`` (called by ``check_supported`` with the config line) refuses the
model naming node, op, backend and defect. The decisions come from the table alone, so a
regenerated table changes them without code edits; the generator measures inside ``measuring()``,
which switches this pass off, so it sees TF.js itself and not these rewrites.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from tfjs_build.checks.packaged import PackagedTable
from tfjs_build.convert.graph.editor import GraphEditor, Node, dtype_of
from tfjs_build.convert.graph.passes.builder import Builder, DType
from tfjs_build.convert.graph.passes.shapes import Shapes
from tfjs_build.errors import UnsupportedModelError

MARK = "_tfjs_build_op_defects"  # TF-only attr (stripped before model.json): why this node is refused
TABLE = "tfjs_build/checks/op_defects.json"
SCANS = ("Cumsum", "Cumprod")
IN_BODY = "it is inside a control-flow v2 function body; `control_flow_v2: false` lowers it into the main graph"
Defect = tuple[str, str, str]  # (case, backend, what goes wrong)


@dataclass(frozen=True)
class DefectTable:
    """The parsed data file: backend -> case -> what TF.js computes wrongly."""

    tfjs_version: str
    wrong: Mapping[str, Mapping[str, str]]

    def defects(self, cases: Iterable[str], backends: Sequence[str]) -> list[Defect]:
        return [(case, b, self.wrong[b][case]) for case in cases for b in backends if case in self.wrong.get(b, {})]


def _parse(data: Any) -> DefectTable:
    return DefectTable(data["tfjs_version"], {b: dict(entry["wrong"]) for b, entry in data["backends"].items()})


_SHIPPED = PackagedTable("op_defects.json", _parse)


def load() -> DefectTable:
    return _SHIPPED.current()


def override(table: DefectTable) -> AbstractContextManager[DefectTable]:
    """Use ``table`` instead of the packaged one inside the block (the generator; tests)."""
    return _SHIPPED.override(table)


def measuring() -> AbstractContextManager[DefectTable]:
    """No defects known inside the block: the generator measures TF.js's own ops, not these rewrites."""
    return override(DefectTable(_SHIPPED.packaged.tfjs_version, {}))


# ------------------------------------------------------------------ which cases a node is


def _data(node: Node) -> list[str]:
    return [ref for ref in node.input if not ref.startswith("^")]


def _axis(ed: GraphEditor, node: Node) -> int | None:
    value = ed.const(ed.producer(node, 1))
    return int(value) if value is not None and value.ndim == 0 else None


def cases_of(ed: GraphEditor, node: Node) -> list[str]:
    """The table's case names ``node`` is an instance of (as ``scripts/op_cases.py`` names them)."""
    producer = ed.producer(node, 0) if node.op == "Cumsum" else None
    return _cases(node, _axis(ed, node) if node.op in SCANS else None, producer.op if producer else "")


def _cases(node: Node, axis: int | None, input_op: str) -> list[str]:
    """``axis``: a scan's constant axis (None: computed at run time); ``input_op``: the op feeding it."""
    if node.op in SCANS:
        if axis is None:  # it may be negative
            return [f"{node.op} (axis < 0)", f"{node.op} (axis >= 0)"]
        chain = axis == -1 and node.op == "Cumsum" and input_op == "StridedSlice"
        return [f"{node.op} (axis {'<' if axis < 0 else '>='} 0)", *(["StridedSlice -> Cumsum (axis -1)"] if chain else [])]
    if node.op == "OneHot":  # whether every index is in range is known only at run time
        last = node.attr["axis"].i == -1 if "axis" in node.attr else True
        return ["OneHot (axis -1)" if last else "OneHot (other axis)", "OneHot (index out of range)"]
    return [f"{node.op} (int32)" if _is_integer(node) else node.op]


def _body_cases(node: Node, body: Mapping[str, Node]) -> list[str]:
    """``_cases`` of a node in a function body, whose inputs read ``name:output:0`` (or ``name``)."""
    data = [body.get(ref.split(":")[0]) for ref in _data(node)]
    axis_node = data[1] if node.op in SCANS and len(data) > 1 else None
    axis = None
    if axis_node is not None and axis_node.op == "Const":
        value = tf.make_ndarray(axis_node.attr["value"].tensor)
        axis = int(value) if value.ndim == 0 else None
    return _cases(node, axis, data[0].op if data and data[0] is not None else "")


def _is_integer(node: Node) -> bool:
    dtype = dtype_of(node)
    return bool(dtype) and tf.as_dtype(dtype).is_integer


# ------------------------------------------------------------------ the rewrites

Apply = Callable[[GraphEditor, Node, Shapes], str | None]  # None: rewritten; else why it cannot be


@dataclass(frozen=True)
class Rewrite:
    formula: str
    apply: Apply


def _nonnegative_axis(ed: GraphEditor, node: Node, shapes: Shapes) -> str | None:
    axis, rank = _axis(ed, node), shapes.rank(_data(node)[0])
    if axis is None:
        return "its axis is computed at run time"
    if rank is None:
        return "the rank of its input is unknown"
    dtype = tf.as_dtype(ed.producer(node, 1).attr["dtype"].type).as_numpy_dtype  # type: ignore[union-attr]
    const = ed.add_const(f"{node.name}/nonnegative_axis", np.asarray(axis % rank, dtype=dtype), node)
    node.input[1] = const.name  # data inputs come before control inputs
    ed.reindex()
    return None


def _one_hot_last_axis(ed: GraphEditor, node: Node, shapes: Shapes) -> str | None:
    rank = shapes.rank(_data(node)[0])
    if rank is None:
        return "the rank of its indices is unknown"
    axis = node.attr["axis"].i
    b = Builder(ed, node)
    hot = b.op("last_axis", "OneHot", _data(node), T=b.dtype, TI=DType(node.attr["TI"].type), axis=-1)
    b.finish(b.transpose("to_axis", hot, [*range(axis), rank, *range(axis, rank)]))
    return None


def _floor_of_div(ed: GraphEditor, node: Node, shapes: Shapes) -> str | None:
    b = Builder(ed, node)
    b.finish(b.op("floor", "Floor", [b.op("real_div", "RealDiv", _data(node)[:2], T=b.dtype)], T=b.dtype))
    return None


def _truncated_mod(ed: GraphEditor, node: Node, shapes: Shapes) -> str | None:
    """sign(x) * FloorMod(|x|, |y|): TF's Mod truncates, and on non-negative operands flooring is
    truncating. Integers get |x| = max(x, 0 - x) and sign(x) = min(max(x, -1), 1), exact in integer ops."""
    b = Builder(ed, node)
    x, y = _data(node)[:2]
    if not _is_integer(node):
        sign = b.op("sign", "Sign", [x], T=b.dtype)
        abs_x, abs_y = b.op("abs_x", "Abs", [x], T=b.dtype), b.op("abs_y", "Abs", [y], T=b.dtype)
    else:
        numpy = tf.as_dtype(int(b.dtype)).as_numpy_dtype
        zero, one, minus_one = (b.const(s, v, numpy) for s, v in (("zero", 0), ("one", 1), ("minus_one", -1)))
        abs_x, abs_y = (b.op(f"abs_{s}", "Maximum", [v, b.op(f"neg_{s}", "Sub", [zero, v], T=b.dtype)], T=b.dtype)
                        for s, v in (("x", x), ("y", y)))
        sign = b.op("sign", "Minimum", [b.op("at_least_minus_one", "Maximum", [x, minus_one], T=b.dtype), one], T=b.dtype)
    b.finish(b.op("signed", "Mul", [sign, b.op("floor_mod", "FloorMod", [abs_x, abs_y], T=b.dtype)], T=b.dtype))
    return None


_NONNEGATIVE = Rewrite("the same scan over axis + rank (a constant)", _nonnegative_axis)
_MOD = Rewrite("sign(x) * FloorMod(|x|, |y|) (TF's truncated remainder)", _truncated_mod)
REWRITES = {  # defect (a case of the table) -> the rewrite that avoids it
    "Cumsum (axis < 0)": _NONNEGATIVE,
    "Cumprod (axis < 0)": _NONNEGATIVE,
    "StridedSlice -> Cumsum (axis -1)": _NONNEGATIVE,
    "OneHot (other axis)": Rewrite("OneHot on the last axis + Transpose", _one_hot_last_axis),
    "FloorDiv": Rewrite("Floor(RealDiv(x, y))", _floor_of_div),
    "Mod": _MOD,
    "Mod (int32)": _MOD,
}


# ------------------------------------------------------------------ the pass, and the refusal


def avoid_op_defects(ed: GraphEditor, backends: Sequence[str], shapes: Shapes) -> list[str]:
    """Rewrite the nodes a target backend computes wrongly, mark the ones no rewrite saves; report lines."""
    table = load()
    if not any(table.wrong.get(b) for b in backends):
        return []
    done: dict[str, list[str]] = {}
    declined: dict[str, str] = {}
    for node in ed:
        for case, _, _ in table.defects(cases_of(ed, node), backends) if ed.alive(node) else []:
            if case in REWRITES:
                why_not = REWRITES[case].apply(ed, node, shapes)
                if why_not is None:
                    done.setdefault(case, []).append(node.name)
                    break
                declined[node.name] = why_not
    for node in ed:  # what is left, including what the rewrites made
        found = table.defects(cases_of(ed, node), backends)
        if found:
            node.attr[MARK].s = _describe(node.name, node, found, declined.get(node.name)).encode("utf-8")
    for function in ed.library.function:  # control flow v2 bodies: rewrites do not reach them
        body = {node.name: node for node in function.node_def}
        for node in function.node_def:
            found = table.defects(_body_cases(node, body), backends)
            if found:
                node.attr[MARK].s = _describe(f"{function.signature.name}/{node.name}", node, found, IN_BODY).encode()
    return [_report_line(case, names, table, backends) for case, names in done.items()]


def _describe(name: str, node: Node, found: list[Defect], declined: str | None) -> str:
    defects = "; ".join(f"on {backend}, {case}: {why}" for case, backend, why in found)
    rewrite = f"not rewritten: {declined}" if declined else "no exact rewrite avoids it"
    return f"node '{name}' ({node.op}): {defects} ({rewrite})"


def _report_line(case: str, names: list[str], table: DefectTable, backends: Sequence[str]) -> str:
    shown = ", ".join(names[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")
    wrong_on = ", ".join(b for b in backends if case in table.wrong.get(b, {}))
    return (f"rewrote {len(names)} {case} node{'s' if len(names) != 1 else ''} as {REWRITES[case].formula} "
            f"(TF.js {table.tfjs_version} computes it wrongly on {wrong_on}): {shown}")


def refuse_marked(graph_def: Any, backends: Sequence[str], where: str) -> None:
    """Raise UnsupportedModelError naming every node ``avoid_op_defects`` marked (``where``: the config line)."""
    nodes = [*graph_def.node, *(node for function in graph_def.library.function for node in function.node_def)]
    marked = [node.attr[MARK].s.decode("utf-8") for node in nodes if MARK in node.attr]
    if not marked:
        return
    count = len(marked)
    shown = "\n".join(f"  - {text}" for text in marked[:10]) + (f"\n  (+{count - 10} more)" if count > 10 else "")
    raise UnsupportedModelError(
        f"{where}: TF.js {load().tfjs_version} computes {count} node{'s' if count != 1 else ''} of this model wrongly "
        f"on {', '.join(backends)} (measured in {TABLE}):\n{shown}\n"
        "Fix: remove the backends named above from this model's `backends:` in tfjs.yaml, or change the model "
        "to avoid these ops."
    )
