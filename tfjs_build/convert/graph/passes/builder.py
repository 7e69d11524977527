"""Small helpers for rewrites that replace one node by a chain of new ones (einsum, roll, DFT, ...).

New nodes go just before the node they replace and are named under it (``node/step``); when the
chain is built, the node itself becomes an Identity of the result, so consumers and output names
stay; ``remove_identities`` later bypasses that Identity wherever the name is not an output.
Shape vectors mix static sizes (constants) with sizes read at run time (Shape + Gather + Prod),
and use one -1 where that is the only unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from tfjs_build.convert.graph.editor import GraphEditor, Node, dtype_of

INT32 = 3  # DT_INT32
Dims = tuple[int | None, ...]


class DType(int):
    """An attr value that is a dtype enum (``attr.type``), not an int (``attr.i``)."""


class Builder:
    """Adds the nodes that replace ``node`` and finally turns ``node`` into their result."""

    def __init__(self, ed: GraphEditor, node: Node) -> None:
        self.ed = ed
        self.node = node
        self.dtype = DType(dtype_of(node))
        self._shape_nodes: dict[str, str] = {}

    def const(self, suffix: str, value: Any, dtype: Any = np.int32) -> str:
        return self.ed.add_const(f"{self.node.name}/{suffix}", np.asarray(value, dtype=dtype), self.node).name

    def op(self, suffix: str, op: str, inputs: Sequence[str], **attrs: Any) -> str:
        new = self.ed.add_node(f"{self.node.name}/{suffix}", op, list(inputs), self.node)
        for key, value in attrs.items():
            if isinstance(value, DType):
                new.attr[key].type = int(value)
            elif isinstance(value, bool):
                new.attr[key].b = value
            elif isinstance(value, int):
                new.attr[key].i = value
            else:
                raise TypeError(f"attr {key}: unsupported value {value!r}")
        return new.name

    def finish(self, result: str) -> bool:
        """``node`` becomes Identity(result), keeping its name, control inputs and dtype."""
        controls = [ref for ref in self.node.input if ref.startswith("^")]
        self.node.op = "Identity"
        self.node.ClearField("attr")
        self.node.attr["T"].type = int(self.dtype)
        self.node.input[:] = [result, *controls]
        self.ed.reindex()
        return True

    # ------------------------------------------------------------ common ops

    def transpose(self, suffix: str, value: str, perm: Sequence[int]) -> str:
        if list(perm) == list(range(len(perm))):
            return value
        return self.op(suffix, "Transpose", [value, self.const(f"{suffix}/perm", list(perm))], T=self.dtype,
                       Tperm=DType(INT32))

    def reshape(self, suffix: str, value: str, shape: str) -> str:
        return self.op(suffix, "Reshape", [value, shape], T=self.dtype, Tshape=DType(INT32))

    def reduce_sum(self, suffix: str, value: str, axes: Sequence[int]) -> str:
        if not axes:
            return value
        return self.op(suffix, "Sum", [value, self.const(f"{suffix}/axes", list(axes))], T=self.dtype,
                       Tidx=DType(INT32), keep_dims=False)

    def concat(self, suffix: str, values: Sequence[str], axis: int, dtype: DType | None = None) -> str:
        if len(values) == 1:
            return values[0]
        axis_ref = self.const(f"{suffix}/axis", axis)
        return self.op(suffix, "ConcatV2", [*values, axis_ref], T=dtype or self.dtype, N=len(values), Tidx=DType(INT32))

    def broadcast_batch(self, suffix: str, value: str, other: str, batch: int) -> str:
        """``value`` broadcast to the leading ``batch`` dims it shares with ``other`` (1 against n).

        BatchMatMulV2 broadcasts them in TF, but TF.js 4.22 pairs batch entries by index modulo each
        operand's batch size: right only when one side's batch dims are all ones or both match
        (``[3, 1]`` against ``[3, 3]`` gives wrong values on wasm, a tensor of the wrong size on cpu
        and an error on webgl), so operands that may broadcast are made to match first.
        """
        shapes = [self.op(f"{suffix}/broadcast/shape_{i}", "Shape", [ref], T=self.dtype, out_type=DType(INT32))
                  for i, ref in enumerate((value, other))]
        begin, size = self.const(f"{suffix}/broadcast/begin", [0]), self.const(f"{suffix}/broadcast/size", [batch])
        heads = [self.op(f"{suffix}/broadcast/batch_{i}", "Slice", [shape, begin, size], T=DType(INT32), Index=DType(INT32))
                 for i, shape in enumerate(shapes)]
        rest = self.const(f"{suffix}/broadcast/rest", [-1])
        tail = self.op(f"{suffix}/broadcast/tail", "Slice", [shapes[0], size, rest], T=DType(INT32), Index=DType(INT32))
        common = self.op(f"{suffix}/broadcast/common", "Maximum", heads, T=DType(INT32))  # 1 vs n -> n, n vs n -> n
        target = self.concat(f"{suffix}/broadcast/target", [common, tail], 0, DType(INT32))
        return self.op(f"{suffix}/broadcast", "BroadcastTo", [value, target], T=self.dtype, Tidx=DType(INT32))

    def shape_vector(self, suffix: str, parts: Sequence[tuple[str, Dims, Sequence[int]]]) -> str:
        """An int32 vector whose element i is the product of the dims ``axes`` of tensor ``ref`` (part i =
        (ref, its static dims, axes)); a Const when every element is static (or only one is not: -1)."""
        sizes = [_product(dims, axes) for _, dims, axes in parts]
        unknown = [i for i, size in enumerate(sizes) if size is None]
        if len(unknown) <= 1:
            return self.const(suffix, [-1 if size is None else size for size in sizes])
        pieces = []
        for i, ((ref, _, axes), size) in enumerate(zip(parts, sizes, strict=True)):
            pieces.append(self.const(f"{suffix}/{i}", [size]) if size is not None else self._dynamic_size(suffix, i, ref, axes))
        return self.concat(f"{suffix}", pieces, 0, DType(INT32))

    def _dynamic_size(self, suffix: str, index: int, ref: str, axes: Sequence[int]) -> str:
        if ref not in self._shape_nodes:
            self._shape_nodes[ref] = self.op(f"{suffix}/shape_{len(self._shape_nodes)}", "Shape", [ref], T=self.dtype,
                                             out_type=DType(INT32))
        gathered = self.op(f"{suffix}/{index}/dims", "GatherV2",
                           [self._shape_nodes[ref], self.const(f"{suffix}/{index}/axes", list(axes)),
                            self.const(f"{suffix}/{index}/axis", 0)],
                           Tparams=DType(INT32), Tindices=DType(INT32), Taxis=DType(INT32), batch_dims=0)
        return self.op(f"{suffix}/{index}/size", "Prod", [gathered, self.const(f"{suffix}/{index}/reduce", [0])],
                       T=DType(INT32), Tidx=DType(INT32), keep_dims=True)


def _product(dims: Dims, axes: Sequence[int]) -> int | None:
    total = 1
    for axis in axes:
        if dims[axis] is None:
            return None
        total *= dims[axis]  # type: ignore[operator]
    return total


def numpy_dtype(dtype: int) -> Any:
    return tf.as_dtype(dtype).as_numpy_dtype
