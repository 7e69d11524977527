"""Grouped ``Conv2D`` (filter in-depth < input channels) as ops TF.js has; its conv2d has no groups.

Keras 3 ``Conv2D(groups=...)`` (ConvNeXt's depthwise convolutions are ``groups=channels``) lowers
to a plain Conv2D whose filter is ``[h, w, C/groups, out]``; TF.js rejects it ("depth of input
must match input depth for filter"). One group per channel is exactly a DepthwiseConv2dNative
with the filter reshaped to ``[h, w, C, out/C]`` (output channel ``c*m + j`` reads input channel
``c`` in both); other group counts become Split + one Conv2D per group + ConcatV2, with the
constant filter sliced here. The input's channel count comes from shape inference; where it is
unknown (inside lowered loops, whose Enter nodes hide shapes) or the filter is not a constant,
the conv stays, and TF.js refuses it when the model loads.
"""

from __future__ import annotations

import numpy as np

from tfjs_build.convert.graph.editor import GraphEditor, Node, matched, nhwc, split_input
from tfjs_build.convert.graph.passes.shapes import Shape, Shapes

CONV_ATTRS = ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations")
INT32 = 3  # DT_INT32


def ungroup_convs(ed: GraphEditor, shapes: Shapes) -> int:
    """Rewrite every grouped NHWC Conv2D with a constant filter and static input channels; returns how many."""
    count = 0
    for node in ed:
        if node.op != "Conv2D" or not nhwc(node):
            continue
        data = [ref for ref in node.input if not ref.startswith("^")]
        dims = _static_dims(shapes.of(data[0]), shapes.of(data[1]))
        if dims is None:
            continue
        channels, kernel = dims
        depth, out = kernel[2], kernel[3]
        if depth == channels or not depth or channels % depth or out % (channels // depth):
            continue
        if ed.const(ed.producer(node, 1)) is None:
            continue  # a filter computed at run time (or entering a lowered loop, where shapes are unknown anyway)
        if depth == 1:
            _as_depthwise(ed, node, (*kernel[:2], channels, out // channels))
        else:
            _as_groups(ed, node, channels // depth)
        count += 1
    return count


def _static_dims(image: Shape | None, kernel: Shape | None) -> tuple[int, tuple[int, ...]] | None:
    """(input channels, filter shape) when the input is rank 4 with known channels and the filter fully known."""
    if image is None or kernel is None or len(image) != 4 or len(kernel) != 4 or image[3] is None:
        return None
    known = tuple(d for d in kernel if d is not None)
    return (image[3], known) if len(known) == 4 else None


def _as_depthwise(ed: GraphEditor, node: Node, shape: tuple[int, ...]) -> None:
    weights = ed.writable_const(matched(ed.producer(node, 1), "the filter"), node, "depthwise_filter")
    ed.set_const(weights, matched(ed.const(weights), "the filter").reshape(shape))
    node.op = "DepthwiseConv2dNative"
    node.input[:] = [_data(node)[0], weights.name, *_controls(node)]
    for key in list(node.attr):
        if key not in CONV_ATTRS:
            del node.attr[key]
    ed.reindex()


def _as_groups(ed: GraphEditor, node: Node, groups: int) -> None:
    image, filter_ref = _data(node)[:2]
    const = ed.producer(node, 1)
    weights = matched(ed.const(const), "the filter")
    width = weights.shape[3] // groups
    axis = ed.add_const(f"{node.name}/channel_axis", np.array(3, np.int32), node, like=const).name
    split = ed.add_node(f"{node.name}/split", "Split", [axis, image], node)
    split.attr["T"].CopyFrom(node.attr["T"])
    split.attr["num_split"].i = groups
    parts = []
    for g in range(groups):
        part = weights[..., g * width:(g + 1) * width]
        kernel = ed.add_const(f"{node.name}/filter_{g}", part, node, like=const)
        conv = ed.add_node(f"{node.name}/group_{g}", "Conv2D", [f"{split.name}:{g}", kernel.name], node)
        for key in CONV_ATTRS:
            if key in node.attr:
                conv.attr[key].CopyFrom(node.attr[key])
        parts.append(conv.name)
    dtype = node.attr["T"].type
    node.op = "ConcatV2"
    node.ClearField("attr")
    node.attr["T"].type = dtype
    node.attr["N"].i = groups
    node.attr["Tidx"].type = INT32
    node.input[:] = [*parts, axis, *_controls(node)]
    ed.reindex()
    ed.drop_orphans([split_input(filter_ref)[0]])


def _data(node: Node) -> list[str]:
    return [ref for ref in node.input if not ref.startswith("^")]


def _controls(node: Node) -> list[str]:
    return [ref for ref in node.input if ref.startswith("^")]
