"""``Roll`` and ``XlaDynamicUpdateSlice`` with constant positions, as Slice + ConcatV2 (exact: data moves only).

TF.js has neither op. Swin's shifted windows are ``keras.ops.roll`` (a ``Roll`` with constant shifts
and axes); ``keras.ops.slice_update`` is ``XlaDynamicUpdateSlice`` in Keras 3's TensorFlow backend
(the only XLA op it emits; its ``jit_compile`` convolutions are inlined, see ``inline.py``), e.g.
the attention mask Swin builds block by block. Both need the static size of the dims they touch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tfjs_build.convert.graph.editor import GraphEditor, Node
from tfjs_build.convert.graph.passes.builder import INT32, Builder, DType
from tfjs_build.convert.graph.passes.shapes import Shapes


def _data(node: Node) -> list[str]:
    return [ref for ref in node.input if not ref.startswith("^")]


def _constant(ed: GraphEditor, node: Node, index: int) -> np.ndarray | None:
    return ed.const(ed.producer(node, index))


def rewrite_roll(ed: GraphEditor, node: Node, shapes: Shapes) -> bool:
    """``roll(x, s, axis)`` = concat(x[n-s:], x[:n-s]) along ``axis``, s taken modulo n (per axis, summed)."""
    x = _data(node)[0]
    shift, axis, dims = _constant(ed, node, 1), _constant(ed, node, 2), shapes.of(x)
    if shift is None or axis is None or dims is None or shift.shape != axis.shape or shift.ndim > 1:
        return False
    totals: dict[int, int] = {}
    for s, a in zip(shift.reshape(-1).tolist(), axis.reshape(-1).tolist(), strict=True):
        a = a + len(dims) if a < 0 else a
        if not 0 <= a < len(dims) or dims[a] is None:
            return False
        totals[a] = totals.get(a, 0) + s
    build = Builder(ed, node)
    value = x
    for a, total in sorted(totals.items()):
        size = dims[a]
        s = total % size  # type: ignore[operator]
        if s == 0:
            continue
        tail = _slice(build, f"axis{a}/tail", value, len(dims), {a: (size - s, s)})  # type: ignore[operator]
        head = _slice(build, f"axis{a}/head", value, len(dims), {a: (0, size - s)})  # type: ignore[operator]
        value = build.concat(f"axis{a}/rolled", [tail, head], a)
    if value == x:
        value = build.op("unchanged", "Identity", [x], T=build.dtype)
    return build.finish(value)


def rewrite_update_slice(ed: GraphEditor, node: Node, shapes: Shapes) -> bool:
    """``x`` with ``update`` written at constant ``indices`` (clamped so it fits, as XLA does): on each axis,
    the part of ``x`` before the window, the window (the next axes, down to the update), the part after."""
    x, update = _data(node)[:2]
    indices, dims, sizes = _constant(ed, node, 2), shapes.of(x), shapes.of(update)
    if indices is None or dims is None or sizes is None or len(dims) != len(sizes) or indices.shape != (len(dims),):
        return False
    if None in dims or None in sizes or any(u > n for u, n in zip(sizes, dims, strict=True)):  # type: ignore[operator]
        return False
    starts = [min(max(int(i), 0), n - u) for i, n, u in zip(indices.tolist(), dims, sizes, strict=True)]  # type: ignore[operator]
    build = Builder(ed, node)
    return build.finish(_window(build, x, update, list(dims), list(sizes), starts, 0))  # type: ignore[arg-type]


def _window(build: Builder, x: str, update: str, dims: list[int], sizes: list[int], starts: list[int], axis: int) -> str:
    """``x`` restricted to the update's window on axes < ``axis``, with the update written in it."""
    if axis == len(dims):
        return update
    inner = _window(build, x, update, dims, sizes, starts, axis + 1)
    window = {a: (starts[a], sizes[a]) for a in range(axis)}
    before, after = starts[axis], dims[axis] - starts[axis] - sizes[axis]
    parts = []
    if before:
        parts.append(_slice(build, f"axis{axis}/before", x, len(dims), {**window, axis: (0, before)}))
    parts.append(inner)
    if after:
        parts.append(_slice(build, f"axis{axis}/after", x, len(dims), {**window, axis: (starts[axis] + sizes[axis], after)}))
    return build.concat(f"axis{axis}/joined", parts, axis)


def _slice(build: Builder, suffix: str, value: str, rank: int, ranges: dict[int, tuple[int, int]]) -> str:
    """``value`` sliced to ``ranges`` (axis -> (begin, size)); other axes whole."""
    begin: Sequence[int] = [ranges.get(a, (0, -1))[0] for a in range(rank)]
    size: Sequence[int] = [ranges.get(a, (0, -1))[1] for a in range(rank)]
    return build.op(suffix, "Slice", [value, build.const(f"{suffix}/begin", begin), build.const(f"{suffix}/size", size)],
                    T=build.dtype, Index=DType(INT32))
