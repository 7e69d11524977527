"""Make an optimised GraphDef what TF.js reads: stable names, no TF-only fields, weights out.

Everything here serves two ends: the same model gives the same bytes (TF names
functions, and some nodes, after runtime ids that change from run to run), and
TF.js's executor runs the graph (some control edges TF needs stall it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import tensorflow as tf

# Tensor contents a Const keeps in the topology are cleared: the value lives in the weights.
VALUE_FIELDS = (
    "tensor_content", "half_val", "float_val", "double_val", "int_val", "string_val", "scomplex_val",
    "int64_val", "bool_val", "dcomplex_val", "resource_handle_val", "variant_val", "uint32_val", "uint64_val",
)
_FUNCTION_ID = re.compile(r"(_\d+)+|_frozen")
_RUNTIME_ID = re.compile(r"\d{3,}")


def canonical_functions(graph_def: Any) -> None:
    """Name library functions by discovery order (``while_body_0``) and drop unused ones.

    TF names them after runtime ids (``__inference_while_body_4263_frozen_12768``) that
    change from run to run; the names also prefix function-body weights.
    """
    functions = {f.signature.name: f for f in graph_def.library.function}
    order: list[str] = []
    pending = [graph_def.node]
    while pending:
        for node in pending.pop(0):
            for ref in _function_refs(node):
                if ref.name in functions and ref.name not in order:
                    order.append(ref.name)
                    pending.append(functions[ref.name].node_def)
    renamed = {old: f"{_FUNCTION_ID.sub('', old).removeprefix('__inference_')}_{i}" for i, old in enumerate(order)}
    for node in all_nodes(graph_def):
        for ref in _function_refs(node):
            ref.name = renamed.get(ref.name, ref.name)
    kept = [functions[name] for name in order]
    for function in kept:
        function.signature.name = renamed[function.signature.name]
        _canonical_arguments(function)
    library = type(graph_def.library)()
    library.function.extend(kept)
    graph_def.library.CopyFrom(library)


def _canonical_arguments(function: Any) -> None:
    """Arguments named after runtime ids (``while_cond_12311___redundant_placeholder0``) -> ``arg_I``."""
    renamed = {
        arg.name: f"arg_{i}" for i, arg in enumerate(function.signature.input_arg) if _RUNTIME_ID.search(arg.name)
    }
    if not renamed:
        return
    for arg in function.signature.input_arg:
        arg.name = renamed.get(arg.name, arg.name)
    for node in function.node_def:
        node.input[:] = [rename_ref(ref, renamed) for ref in node.input]
    for key, ref in list(function.ret.items()):
        function.ret[key] = rename_ref(ref, renamed)


def _function_refs(node: Any) -> Iterable[Any]:
    """The NameAttrList entries (func attrs and lists of them) a node uses, in attr-name order."""
    for key in sorted(node.attr):
        attr = node.attr[key]
        if attr.HasField("func"):
            yield attr.func
        elif attr.HasField("list"):
            yield from attr.list.func


def drop_stray_placeholders(graph_def: Any, wanted: set[str]) -> None:
    """Lowering control flow leaves ``unused_control_flow_input`` placeholders whose dtype varies by run.

    ``wanted``: the node names of the signature's inputs, kept even when unused.
    """
    used = {ref.lstrip("^").split(":")[0] for node in graph_def.node for ref in node.input}
    keep = [n for n in graph_def.node if n.op != "Placeholder" or n.name in wanted or n.name in used]
    if len(keep) != len(graph_def.node):
        del graph_def.node[:]
        graph_def.node.extend(keep)


def strip_tf_only_fields(graph_def: Any) -> None:
    """Devices, debug info, full types and TF-internal ``_`` attrs: TF.js reads none of them,
    they cost bytes, and some (``_has_manual_control_dependencies``) vary between runs."""
    for node in all_nodes(graph_def):
        node.device = ""
        node.ClearField("experimental_debug_info")
        node.ClearField("experimental_type")
        for key in [k for k in node.attr if k.startswith("_")]:
            del node.attr[key]


def drop_tfjs_blocking_control_edges(graph_def: Any) -> None:
    """Control edges TF.js needs none of and stalls on in lowered loops ("Cannot compute the outputs").

    - to and from weights: TF keeps a loop-body constant in its frame with ``^enter``
      edges from a constant ``Enter`` of a frozen variable; TF.js disposes that Enter's
      tensor after the first iteration, so the next one waits for it forever. TF.js
      weights are visible in every frame, so these edges carry nothing.
    - from ``Switch``: TF.js reads ``^switch`` as the Switch's first (false-branch)
      output, which is dead inside a loop body; the branch pivots (``Identity`` of the
      taken output) already order the body.
    """
    nodes = {node.name: node for node in graph_def.node}

    def is_weight(name: str) -> bool:
        node = nodes.get(name)
        if node is None or node.op not in ("Const", "Enter"):
            return False
        if node.op == "Const":
            return True
        data = [ref for ref in node.input if not ref.startswith("^")]
        return node.attr["is_constant"].b and len(data) == 1 and is_weight(data[0].split(":")[0])

    def is_switch(name: str) -> bool:
        return name in nodes and nodes[name].op == "Switch"

    for node in graph_def.node:
        node.input[:] = [
            ref for ref in node.input
            if not (ref.startswith("^") and (node.op == "Const" or is_weight(ref[1:]) or is_switch(ref[1:])))
        ]
    used = {ref.lstrip("^").split(":")[0] for node in graph_def.node for ref in node.input}
    dead = [node for node in graph_def.node if node.op == "Enter" and node.name not in used]
    for node in dead:
        graph_def.node.remove(node)


def bypass_function_identities(graph_def: Any) -> None:
    """Inside functions, read an ``Identity``'s input instead of the Identity.

    TF.js's Identity makes a new tensor, and a function call disposes every tensor
    of its body except its inputs and outputs, whatever ``keep()`` said. A v2 loop
    body that writes ``h`` into a TensorList and returns ``Identity(h)`` thus loses
    the list's items after the call (LSTM/GRU ``return_sequences`` with
    ``control_flow_v2`` fail with "reading 'backend'"); returning ``h`` itself keeps it.
    """
    for function in graph_def.library.function:
        forward = {
            f"{node.name}:output:0": next(ref for ref in node.input if not ref.startswith("^"))
            for node in function.node_def
            if node.op == "Identity" and any(not ref.startswith("^") for ref in node.input)
        }
        if not forward:
            continue
        gone = {ref.split(":")[0] for ref in forward}
        for node in function.node_def:
            node.input[:] = [_follow(forward, ref) for ref in node.input if ref.lstrip("^") not in gone]
        for key, ref in list(function.ret.items()):
            function.ret[key] = _follow(forward, ref)
        kept = [node for node in function.node_def if node.name not in gone]
        del function.node_def[:]
        function.node_def.extend(kept)


def _follow(forward: dict[str, str], ref: str) -> str:
    while ref in forward:  # Identity chains
        ref = forward[ref]
    return ref


def all_nodes(graph_def: Any) -> Iterable[Any]:
    yield from graph_def.node
    for function in graph_def.library.function:
        yield from function.node_def


# ---------------------------------------------------------------- constants to weights


def extract_constants(graph_def: Any, initializer: Any) -> Iterable[tuple[str, np.ndarray]]:
    """Take every Const value out of the graph, in graph order: the inference graph, function
    bodies (renamed first by ``rename_function_constants``), the initializer."""
    yield from _take_values(graph_def.node)
    for function in graph_def.library.function:
        yield from _take_values(function.node_def)
    if initializer is not None:
        yield from _take_values(initializer.node)


def _take_values(nodes: Iterable[Any]) -> Iterable[tuple[str, np.ndarray]]:
    for node in nodes:
        if node.op != "Const":
            continue
        tensor = node.attr["value"].tensor
        value = tf.make_ndarray(tensor)
        for name in VALUE_FIELDS:
            tensor.ClearField(name)
        yield node.name, value


def rename_function_constants(function: Any) -> None:
    """``NAME`` -> ``FUNCTION/NAME``: TF.js looks every weight up in one map, graph and functions alike."""
    prefix = function.signature.name
    renamed = {n.name: f"{prefix}/{n.name}" for n in function.node_def if n.op == "Const"}
    if not renamed:
        return
    for node in function.node_def:
        if node.name in renamed:
            node.name = renamed[node.name]
        node.input[:] = [rename_ref(ref, renamed) for ref in node.input]
    for key, ref in list(function.ret.items()):
        function.ret[key] = rename_ref(ref, renamed)


def rename_ref(ref: str, renamed: dict[str, str]) -> str:
    control = ref.startswith("^")
    name, sep, rest = ref.lstrip("^").partition(":")
    if name not in renamed:
        return ref
    return ("^" if control else "") + renamed[name] + sep + rest


def graph_ops(graph_def: Any, initializer: Any) -> tuple[str, ...]:
    """Sorted unique op names, function bodies and the initializer included."""
    ops = {node.op for node in all_nodes(graph_def)}
    if initializer is not None:
        ops.update(node.op for node in initializer.node)
    return tuple(sorted(ops))
