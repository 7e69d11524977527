"""Move the Squeeze of a Keras Conv1D below the per-channel ops after it.

Keras lowers ``Conv1D`` to ``ExpandDims -> Conv2D -> Squeeze`` and puts the bias, batch norm and
activation after the Squeeze, where folding and fusion cannot see the conv. Dropping a size-1
axis that is not the channel axis commutes with per-channel and element-wise ops, so swapping
the Squeeze downwards (``conv -> BiasAdd -> Relu -> Squeeze``) is exact and lets the conv fold
and fuse like a 2-D one.
"""

from __future__ import annotations

from tfjs_build.convert.graph.editor import GraphEditor, Node, is_float32, nhwc

UNARY = frozenset({"Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu", "Selu"})
BY_CONSTANT = frozenset({"BiasAdd", "Mul", "Add", "AddV2", "Sub"})
MAX_CONSTANT_RANK = 3  # a constant of higher rank would broadcast the 4-D tensor differently


def _keeps_channels(squeeze: Node) -> bool:
    dims = list(squeeze.attr["squeeze_dims"].list.i) if "squeeze_dims" in squeeze.attr else []
    return bool(dims) and all(d not in (-1, 3) for d in dims)


def _commutes(ed: GraphEditor, squeeze: Node, op: Node) -> bool:
    """True when ``op`` is element-wise, or per-channel with a constant, on the Squeeze's output."""
    if not is_float32(op) or not nhwc(op):
        return False
    data = [ref for ref in op.input if not ref.startswith("^")]
    if op.op in UNARY:
        return len(data) == 1
    if op.op not in BY_CONSTANT or len(data) != 2:
        return False
    other = 1 if ed.producer(op, 0) is squeeze else 0
    if op.op in ("BiasAdd", "Sub") and other != 1:
        return False
    value = ed.const(ed.producer(op, other))
    return value is not None and value.ndim <= MAX_CONSTANT_RANK and all(d == 1 for d in value.shape[:-1])


def sink_squeezes(ed: GraphEditor) -> int:
    """Swap every such Squeeze below the ops after it; returns how many swaps were made."""
    swaps = 0
    changed = True
    while changed:
        changed = False
        for squeeze in ed:
            if not ed.alive(squeeze) or squeeze.op != "Squeeze" or not _keeps_channels(squeeze):
                continue
            op = ed.sole_data_consumer(squeeze.name)
            if op is None or not _commutes(ed, squeeze, op) or squeeze.input[0].startswith("^"):
                continue
            source, squeeze_name, op_name = squeeze.input[0], squeeze.name, op.name
            op.input[:] = [source if ref == squeeze_name or ref == f"{squeeze_name}:0" else ref for ref in op.input]
            op.name, squeeze.name = squeeze_name, op_name
            squeeze.input[0] = squeeze_name
            ed.reindex()
            swaps += 1
            changed = True
    return swaps
