"""Merge a zero ``Pad`` of the spatial dimensions into the convolution that reads it.

Keras ``ZeroPadding2D`` before a VALID convolution is exactly the convolution with explicit padding,
which TF and TF.js (``pad: 'explicit'`` with ``explicit_paddings``) both run in one kernel: one op and
one constant fewer per block, and the
conv can then fuse with what follows.
"""

from __future__ import annotations

import numpy as np
from tensorflow.core.framework import node_def_pb2

from tfjs_build.convert.graph.editor import GraphEditor, nhwc

# Not depthwise convs: TF 2.x's shape function CHECK-fails (aborts the process) on an EXPLICIT
# depthwise conv in graph mode, and later stages import the optimised graph into TF. Those merge
# only in the graph TF.js alone runs (``TFJS_ONLY_CONVS``, whose executors read explicit_paddings).
CONVS = frozenset({"Conv2D"})
TFJS_ONLY_CONVS = frozenset({"DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"})


def _zero_pad(ed: GraphEditor, pad: node_def_pb2.NodeDef | None, conv: node_def_pb2.NodeDef) -> np.ndarray | None:
    """The (4, 2) paddings of ``pad`` when it only zero-pads height and width for ``conv``."""
    if pad is None or pad.op not in ("Pad", "PadV2") or ed.sole_data_consumer(pad.name) is not conv:
        return None
    if pad.op == "PadV2":
        fill = ed.const(ed.producer(pad, 2))
        if fill is None or fill.size != 1 or float(fill.reshape(())) != 0.0:
            return None
    paddings = ed.const(ed.producer(pad, 1))
    if paddings is None or paddings.shape != (4, 2) or (paddings < 0).any() or paddings[[0, 3]].any():
        return None
    return paddings.astype(np.int64)


def _existing(conv: node_def_pb2.NodeDef) -> np.ndarray | None:
    padding = conv.attr["padding"].s if "padding" in conv.attr else b""
    if padding == b"VALID":
        return np.zeros((4, 2), np.int64)
    if padding == b"EXPLICIT":
        return np.array(conv.attr["explicit_paddings"].list.i, np.int64).reshape(4, 2)
    return None  # SAME depends on the input size: not a fixed padding


def fold_pads(ed: GraphEditor, convs: frozenset[str] = CONVS) -> int:
    """Merge every foldable Pad into the ``convs`` reading it; returns how many went."""
    merged = 0
    for conv in ed:
        if not ed.alive(conv) or conv.op not in convs or not nhwc(conv):
            continue
        pad = ed.producer(conv, 0)
        paddings, existing = _zero_pad(ed, pad, conv), _existing(conv)
        if pad is None or paddings is None or existing is None:
            continue
        total = existing + paddings
        conv.attr["padding"].s = b"EXPLICIT"
        del conv.attr["explicit_paddings"].list.i[:]
        conv.attr["explicit_paddings"].list.i.extend(int(v) for v in total.reshape(-1))
        pad_inputs = list(pad.input)
        conv.input[0] = pad_inputs[0]
        conv.input.extend(ref for ref in pad_inputs if ref.startswith("^") and ref not in conv.input)
        constants = [ref for ref in pad_inputs[1:] if not ref.startswith("^")]
        ed.remove([pad.name])
        ed.drop_orphans(constants)
        merged += 1
    return merged
