"""BatchMatMulV2 whose batch dims broadcast partly (``[3, 1]`` against ``[3, 3]``): operands broadcast first.

TF broadcasts batch dims of size 1 against n. TF.js 4.22 does so only when one operand's batch dims
are all ones (or both match): it pairs batch entries by index modulo each operand's batch size, so
``[3, 1, m, k] @ [3, 3, k, n]`` gives wrong values on wasm, a tensor of the wrong size on cpu and an
error on webgl. Where shapes show a dim of 1 against another size on one side while that side's
other batch dims are not all ones, both operands are broadcast to the common batch shape
(BroadcastTo) before the matmul. Operands of different ranks are left alone.
"""

from __future__ import annotations

from tfjs_build.convert.graph.editor import GraphEditor
from tfjs_build.convert.graph.passes.builder import Builder, Dims
from tfjs_build.convert.graph.passes.shapes import Shapes


def broadcast_batch_matmuls(ed: GraphEditor, shapes: Shapes) -> int:
    """Insert the broadcasts where TF.js would pair batch entries wrongly; returns how many matmuls."""
    count = 0
    for node in ed:
        if node.op != "BatchMatMulV2":
            continue
        x, y = [ref for ref in node.input if not ref.startswith("^")][:2]
        x_dims, y_dims = shapes.of(x), shapes.of(y)
        if x_dims is None or y_dims is None or len(x_dims) != len(y_dims) or len(x_dims) < 4:
            continue
        batch = len(x_dims) - 2
        if not (_partly_broadcast(x_dims[:batch], y_dims[:batch]) or _partly_broadcast(y_dims[:batch], x_dims[:batch])):
            continue
        build = Builder(ed, node)
        data = [build.broadcast_batch("lhs", x, y, batch), build.broadcast_batch("rhs", y, x, batch)]
        node.input[:] = [*data, *[ref for ref in node.input if ref.startswith("^")]]
        ed.reindex()
        count += 1
    return count


def _partly_broadcast(ones: Dims, other: Dims) -> bool:
    """``ones`` has a 1 where ``other`` may be larger, and is not all ones itself."""
    stretched = any(a == 1 and b != 1 for a, b in zip(ones, other, strict=True))
    return stretched and any(a != 1 for a in ones)
