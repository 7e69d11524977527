"""Inline every function call (``PartitionedCall``, ``StatefulPartitionedCall``, a function used as
an op) into the graph or function body that makes it, at any depth.

TF.js has no call ops. Freezing inlines most calls, but not functions marked ``_noinline`` or
``_XlaMustCompile``: Keras 3 runs grouped convolutions (ConvNeXt's depthwise ones) through a
``jit_compile=True`` function, which stays a ``StatefulPartitionedCall`` in every block. Calls
inside control-flow v2 bodies (While/If, kept with ``control_flow_v2: true``) are inlined into
those bodies. A call's node name prefixes the nodes it brings in (``call/Conv2D``); its outputs
are rewired to the inlined tensors; a NoOp keeps its name when something waits on it.

Function bodies name tensors ``node:output_arg:index`` and the graph ``node:flat_index``; the op
definitions give the mapping. Functions no longer used are dropped from the library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tensorflow.core.framework import graph_pb2
from tensorflow.python.framework import op_def_registry

from tfjs_build.convert.graph.editor import Function, Node

CALL_OPS = frozenset({"PartitionedCall", "StatefulPartitionedCall"})


def inline_calls(graph_def: graph_pb2.GraphDef) -> int:
    """Inline every call in ``graph_def`` (main graph and library); returns how many were inlined."""
    library = {function.signature.name: function for function in graph_def.library.function}
    count = 0
    flat: set[str] = set()
    for name in library:
        count += _flatten(name, library, flat, ())
    count += _inline_into(graph_def.node, library, nested=False, retarget=None)
    _drop_unused(graph_def, library)
    return count


def callee(node: Node, library: dict[str, Function]) -> Function | None:
    """The library function ``node`` calls, if it is a call (not While/If, whose bodies are attrs)."""
    if node.op in CALL_OPS and node.attr["f"].func.name in library:
        return library[node.attr["f"].func.name]
    return library.get(node.op)


def _flatten(name: str, library: dict[str, Function], flat: set[str], stack: tuple[str, ...]) -> int:
    """Make ``library[name]`` call-free (callees first); recursive functions keep their calls."""
    if name in flat or name in stack:
        return 0
    function = library[name]
    count = 0
    for node in function.node_def:
        called = callee(node, library)
        if called is not None:
            count += _flatten(called.signature.name, library, flat, (*stack, name))
    count += _inline_into(function.node_def, library, nested=True, retarget=function)
    flat.add(name)
    return count


def _inline_into(nodes: Any, library: dict[str, Function], *, nested: bool, retarget: Function | None) -> int:
    """Replace each inlinable call among ``nodes`` (a repeated NodeDef field) by the callee's body."""
    count = 0
    index = 0
    while index < len(nodes):
        node = nodes[index]
        called = callee(node, library)
        if called is None or _calls_itself(called, library) or not _single_tensor_args(called):
            index += 1
            continue
        prefix = _free_prefix(node.name, {n.name for n in nodes})
        try:
            body, outputs, finals = _instantiate(node, called, prefix, nested)
        except ValueError:  # an op whose outputs TF does not know (a custom op): the call stays, and is refused
            index += 1
            continue
        waited = _rewire(nodes, node, _output_names(node, called, nested), outputs, retarget)
        if waited:
            body.append(_waiter(node, finals, outputs))
        del nodes[index]
        for offset, new in enumerate(body):
            nodes.insert(index + offset, new)
        index += len(body)
        count += 1
    return count


def _calls_itself(function: Function, library: dict[str, Function]) -> bool:
    return any(callee(node, library) is function for node in function.node_def)


def _single_tensor_args(function: Function) -> bool:
    args = list(function.signature.input_arg) + list(function.signature.output_arg)
    return not any(arg.number_attr or arg.type_list_attr for arg in args)


def _free_prefix(name: str, names: set[str]) -> str:
    prefix, counter = f"{name}/", 0
    while any(other.startswith(prefix) for other in names):
        counter += 1
        prefix = f"{name}_inlined_{counter}/"
    return prefix


def _instantiate(call: Node, function: Function, prefix: str, nested: bool) -> tuple[list[Node], list[str], list[str]]:
    """The callee's nodes renamed under ``prefix`` and wired to the call's inputs; the refs of its
    outputs (in the host's naming) and the names of the nodes that must run (control returns)."""
    data = [ref for ref in call.input if not ref.startswith("^")]
    controls = [ref for ref in call.input if ref.startswith("^")]
    args = {arg.name: ref for arg, ref in zip(function.signature.input_arg, data, strict=True)}
    op_defs = _OpDefs(function, nested)
    translate = _translator(args, prefix, op_defs)
    anchors = controls + ([f"^{data[0].split(':')[0]}"] if data and not nested else [])
    body = []
    for original in function.node_def:
        node = Node()
        node.CopyFrom(original)
        node.name = prefix + original.name
        node.input[:] = [translate(ref) for ref in original.input]
        if not node.input:
            node.input.extend(anchors)  # keeps constants in the caller's frame (lowered loops) and order
        if call.device and not node.device:
            node.device = call.device
        body.append(node)
    outputs = [translate(function.ret[arg.name]) for arg in function.signature.output_arg]
    finals = [prefix + function.control_ret[arg] for arg in function.signature.control_output if arg in function.control_ret]
    return body, outputs, finals


class _OpDefs:
    """Output-arg layout of the ops in a function body, for ``node:arg:i`` -> ``node:flat``."""

    def __init__(self, function: Function, nested: bool) -> None:
        self.nodes = {node.name: node for node in function.node_def}
        self.nested = nested

    def ref(self, prefix: str, node_name: str, arg: str, index: int) -> str:
        if self.nested:
            return f"{prefix}{node_name}:{arg}:{index}"
        node = self.nodes[node_name]
        op_def = op_def_registry.get(node.op)
        flat = 0
        for output in op_def.output_arg if op_def is not None else ():
            if output.name == arg:
                break
            flat += node.attr[output.number_attr].i if output.number_attr else (
                len(node.attr[output.type_list_attr].list.type) if output.type_list_attr else 1
            )
        else:
            raise ValueError(f"cannot inline: op {node.op} of {node_name} has no output {arg!r}")
        flat += index
        return f"{prefix}{node_name}" + (f":{flat}" if flat else "")


def _translator(args: dict[str, str], prefix: str, op_defs: _OpDefs) -> Callable[[str], str]:
    def translate(ref: str) -> str:
        if ref.startswith("^"):
            target = ref[1:]
            return f"^{args[target].lstrip('^').split(':')[0]}" if target in args else f"^{prefix}{target}"
        if ref in args:
            return args[ref]
        node_name, arg, index = ref.split(":")
        return op_defs.ref(prefix, node_name, arg, int(index))

    return translate


def _rewire(nodes: Any, call: Node, out_names: dict[str, int], outputs: list[str], retarget: Function | None) -> bool:
    """Point every reference to the call's outputs at ``outputs``; True when something waits on it."""
    waited = False
    for node in nodes:
        if node is call:
            continue
        new = []
        for ref in node.input:
            if ref == f"^{call.name}":
                waited = True
                new.append(ref)
            else:
                new.append(outputs[out_names[ref]] if ref in out_names else ref)
        node.input[:] = new
    if retarget is not None:
        for key, ref in list(retarget.ret.items()):
            if ref in out_names:
                retarget.ret[key] = outputs[out_names[ref]]
        waited = waited or call.name in retarget.control_ret.values()
    return waited


def _output_names(call: Node, function: Function, nested: bool) -> dict[str, int]:
    """The host's names for the call's outputs: ``call:i`` (graph), ``call:output:i`` (a call op in a
    function body) or ``call:<output arg>:0`` (a function used as an op in a function body)."""
    outputs = function.signature.output_arg
    if not nested:
        return {f"{call.name}:{i}": i for i in range(len(outputs))} | ({call.name: 0} if outputs else {})
    if call.op in CALL_OPS:
        return {f"{call.name}:output:{i}": i for i in range(len(outputs))}
    return {f"{call.name}:{arg.name}:0": i for i, arg in enumerate(outputs)}


def _waiter(call: Node, finals: list[str], outputs: list[str]) -> Node:
    """A NoOp with the call's name, for control edges (and control returns) that waited on it."""
    waits = [f"^{ref.lstrip('^').split(':')[0]}" for ref in outputs] + [f"^{name}" for name in finals]
    waits += [ref for ref in call.input if ref.startswith("^")]
    node = Node(name=call.name, op="NoOp", input=list(dict.fromkeys(waits)))
    if call.device:
        node.device = call.device
    return node


def _drop_unused(graph_def: graph_pb2.GraphDef, library: dict[str, Function]) -> None:
    roots = [op for node in graph_def.node for op in _called_names(node)]
    used = used_functions(graph_def.library, roots)
    kept = [function for function in graph_def.library.function if function.signature.name in used]
    if len(kept) != len(graph_def.library.function):
        del graph_def.library.function[:]
        graph_def.library.function.extend(kept)


def _called_names(node: Node) -> list[str]:
    names = [node.op]
    for attr in node.attr.values():
        if attr.HasField("func"):
            names.append(attr.func.name)
        elif attr.HasField("list"):
            names.extend(func.name for func in attr.list.func)
    return names


def used_functions(library: Any, roots: list[str]) -> set[str]:
    """Names of ``roots`` and every library function they call (by op, attr or gradient)."""
    functions = {function.signature.name: function for function in library.function}
    gradients = {g.registered_op_type: g.gradient_func for g in library.registered_gradients if g.registered_op_type}
    gradients.update({g.function_name: g.gradient_func for g in library.gradient})
    used: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in used or name not in functions:
            continue
        used.add(name)
        if name in gradients:
            pending.append(gradients[name])
        for node in functions[name].node_def:
            pending.extend(op for op in (gradients.get(node.op),) if op)
            pending.extend(_called_names(node))
    return used
