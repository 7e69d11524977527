"""The TF.js-specific graph passes that run after Grappler's generic ones.

Order matters: exact rewrites of unsupported ops first (so nothing later sees an op TF.js lacks),
then Identity chains go (they would hide a conv from the batch norm after it), zero Pads merge
into the convolutions after them (explicit padding), Conv1D's Squeeze moves below the per-channel
ops after it, batch norms and channel scales fold into weights (leaving conv + BiasAdd), then
Keras PReLUs and conv + BiasAdd (+ activation) fuse into the ops every target backend runs.
Output node names never change; the same input
gives the same GraphDef bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tensorflow.core.framework import graph_pb2

from tfjs_build.checks import op_support as ops
from tfjs_build.convert.graph.editor import GraphEditor, dtype_of, split_input
from tfjs_build.convert.graph.passes.batch_matmul import broadcast_batch_matmuls
from tfjs_build.convert.graph.passes.fold import fold_into_weights
from tfjs_build.convert.graph.passes.fuse import fuse_for_tfjs, withheld_notes
from tfjs_build.convert.graph.passes.grouped_conv import ungroup_convs
from tfjs_build.convert.graph.passes.op_defects import avoid_op_defects, refuse_marked
from tfjs_build.convert.graph.passes.padding import fold_pads
from tfjs_build.convert.graph.passes.prelu import fuse_prelu
from tfjs_build.convert.graph.passes.rewrites import apply_rewrites, rewrite_for, rewrite_for_node
from tfjs_build.convert.graph.passes.shapes import Shapes
from tfjs_build.convert.graph.passes.squeeze import sink_squeezes
from tfjs_build.errors import UnsupportedModelError

# Identity nodes after these carry control-flow meaning (branch pivots, loop frames): keep them.
CONTROL_FLOW_OPS = frozenset({"Switch", "Merge", "Enter", "Exit", "NextIteration", "LoopCond", "RefSwitch", "RefEnter"})
OPAQUE_DTYPES = frozenset({20, 21})  # DT_RESOURCE, DT_VARIANT
# What `strip_debug_ops: true` removes. Grappler's debug_stripper leaves CheckNumericsV2 in place,
# so the pass below finishes the job; TF.js runs none of these.
FORWARDING_DEBUG_OPS = frozenset({"CheckNumerics", "CheckNumericsV2", "Print"})  # output 0 == input 0
SINK_DEBUG_OPS = frozenset({"Assert", "PrintV2"})  # no outputs: only control edges lead to them


def node_names(outputs: Iterable[str]) -> set[str]:
    """``"a:0"``/``"^a"``/``"a"`` -> ``"a"``."""
    return {split_input(ref)[0] for ref in outputs}


def remove_identities(ed: GraphEditor) -> int:
    """Bypass Identity nodes that only forward a value; returns how many went."""
    removed = 0
    for node in ed:
        if node.op != "Identity" or node.name in ed.protected or dtype_of(node) in OPAQUE_DTYPES:
            continue
        if len(node.input) != 1 or node.input[0].startswith("^"):
            continue
        source = ed.nodes.get(split_input(node.input[0])[0])
        uses = ed.uses(node.name)
        if source is None or source.op in CONTROL_FLOW_OPS or any(control for _, _, control in uses):
            continue
        for consumer, _, _ in uses:
            consumer.input[:] = [node.input[0] if split_input(ref)[0] == node.name else ref for ref in consumer.input]
        ed.remove([node.name])
        removed += 1
    return removed


def strip_debug_nodes(ed: GraphEditor) -> int:
    """Turn forwarding debug ops into Identity and drop sinks (and the edges to them)."""
    sinks = {node.name for node in ed if node.op in SINK_DEBUG_OPS and node.name not in ed.protected}
    stripped = len(sinks)
    for node in ed:
        if node.op in FORWARDING_DEBUG_OPS:
            stripped += 1
            data = [ref for ref in node.input if not ref.startswith("^")]
            controls = [ref for ref in node.input if ref.startswith("^")]
            dtype = dtype_of(node)
            node.op = "Identity"
            node.ClearField("attr")
            node.attr["T"].type = dtype
            node.input[:] = [data[0], *controls]
        node.input[:] = [ref for ref in node.input if not (ref.startswith("^") and ref[1:] in sinks)]
    formats = {split_input(ref)[0] for name in sinks for ref in ed.nodes[name].input}
    ed.remove(sinks)
    dead = {name for name in formats if name in ed.nodes and ed.nodes[name].op == "StringFormat" and not ed.uses(name)}
    ed.remove(dead)
    return stripped + len(dead)


def optimize_for_tfjs(
    graph_def: graph_pb2.GraphDef, *, backends: Sequence[str], output_nodes: Iterable[str],
    strip_debug_ops: bool = False, consume: bool = False,
) -> tuple[graph_pb2.GraphDef, list[str]]:
    """Rewrite, fold and fuse for ``backends``; returns the new graph and what was done, for the log.

    ``consume`` empties ``graph_def`` (the caller's copy) so the weights are not held twice.
    """
    targets = tuple(backends)
    ed = GraphEditor(graph_def, node_names(output_nodes), consume=consume)
    shapes = Shapes(ed)
    report = apply_rewrites(ed, targets, shapes)
    report += avoid_op_defects(ed, targets, shapes)  # ops TF.js has but computes wrongly (op_defects.json)
    if strip_debug_ops:
        _note(report, strip_debug_nodes(ed), "stripped {n} debug node{s} (strip_debug_ops)")
    _note(report, remove_identities(ed), "removed {n} Identity node{s}")
    _note(report, ungroup_convs(ed, shapes), "rewrote {n} grouped Conv2D{s} as depthwise or per-group convolutions "
          "(TF.js conv2d has no groups)")
    _note(report, broadcast_batch_matmuls(ed, shapes), "broadcast the batch dims of {n} BatchMatMulV2 operand pair{s} "
          "before multiplying (TF.js 4.22 pairs partly broadcast batches wrongly)")
    _note(report, fold_pads(ed), "merged {n} zero Pad node{s} into convolutions (explicit padding)")
    _note(report, sink_squeezes(ed), "moved Conv1D Squeezes below {n} per-channel op{s}")
    _note(report, len(fold_into_weights(ed)), "folded {n} batch norm/scale/shift node{s} into weights")
    # PReLU before plain fusion, which would take the bias alone.
    prelus, withheld = fuse_prelu(ed, targets)
    _note(report, prelus, "fused {n} PReLU activation{s} (Keras lowering) into conv/matmul")
    fused, withheld_plain = fuse_for_tfjs(ed, targets)
    if fused:
        report.append("fused " + ", ".join(f"{count} {op}" for op, count in sorted(fused.items())))
    report += withheld_notes(withheld + withheld_plain, targets)
    return ed.to_graph_def(), report


def _note(report: list[str], count: int, what: str) -> None:
    """Append ``what`` (``{n}``: the count, ``{s}``: its plural ending) when a pass did anything."""
    if count:
        report.append(what.format(n=count, s="s" if count != 1 else ""))


def function_nodes(graph_def: graph_pb2.GraphDef) -> list[tuple[str, str]]:
    """(``function/node``, op) of every node inside the function library."""
    return [
        (f"{function.signature.name}/{node.name}", node.op)
        for function in graph_def.library.function
        for node in function.node_def
    ]


def _debug_only(graph_def: graph_pb2.GraphDef) -> set[str]:
    """Nodes that go with ``strip_debug_ops``: debug ops, and StringFormat feeding only PrintV2."""
    readers: dict[str, list[str]] = {}
    for node in graph_def.node:
        for ref in node.input:
            readers.setdefault(split_input(ref)[0], []).append(node.op)
    return {
        node.name for node in graph_def.node
        if node.op in FORWARDING_DEBUG_OPS | SINK_DEBUG_OPS
        or (node.op == "StringFormat" and readers.get(node.name) and set(readers[node.name]) == {"PrintV2"})
    }


def check_supported(
    graph_def: graph_pb2.GraphDef, backends: Sequence[str], where: str, *, strip_debug_ops: bool = False
) -> None:
    """Raise UnsupportedModelError naming every op ``backends`` cannot run.

    Main-graph ops that ``optimize_for_tfjs`` will rewrite exactly (or strip, with
    ``strip_debug_ops``) do not count.
    """
    targets = tuple(backends)
    refuse_marked(graph_def, targets, where)
    skipped = _debug_only(graph_def) if strip_debug_ops else set()
    nodes = [
        (node.name, node.op) for node in graph_def.node
        if rewrite_for_node(node, targets) is None and node.name not in skipped
    ]
    nodes += function_nodes(graph_def)
    findings = ops.find_unsupported(nodes, targets)
    if not findings:
        return
    count = len(findings)
    debug = "" if strip_debug_ops or not {f.op for f in findings} & (FORWARDING_DEBUG_OPS | SINK_DEBUG_OPS) else (
        "; debug ops (Assert, CheckNumerics, Print) go away with `strip_debug_ops: true`"
    )
    in_functions = {op for _, op in function_nodes(graph_def)}
    lowerable = "" if not any(rewrite_for(f.op, targets) and f.op in in_functions for f in findings) else (
        "; ops inside control-flow v2 function bodies are not rewritten: `control_flow_v2: false` lowers "
        "them into the main graph, where they are"
    )
    raise UnsupportedModelError(
        f"{where}: TF.js {ops.tfjs_version()} cannot run {count} op{'s' if count != 1 else ''} of this model "
        f"on {', '.join(targets)}:\n{ops.format_unsupported(findings)}\n"
        "Fix: change the model to avoid these ops (e.g. another activation or layer), or remove the "
        f"backends that lack them from this model's `backends:` in tfjs.yaml{debug}{lowerable}."
    )
