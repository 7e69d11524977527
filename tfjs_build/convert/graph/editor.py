"""A small editor over a TF GraphDef for the TF.js-specific passes (fold, fuse, rewrite).

Passes match a pattern, edit nodes in place and rebuild the consumer index; graphs after
Grappler are a few thousand nodes at most, so rebuilding per edit stays cheap and keeps every
pass obviously correct. The editor never renames or removes a protected (output) node.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeAlias, TypeVar

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import function_pb2, graph_pb2, node_def_pb2

# Any to mypy: TensorFlow ships no type information. Named once here for every pass.
Node: TypeAlias = node_def_pb2.NodeDef
Function: TypeAlias = function_pb2.FunctionDef
T = TypeVar("T")


def split_input(ref: str) -> tuple[str, int, bool]:
    """``"^a"`` -> (a, -1, True); ``"a:1"`` -> (a, 1, False); ``"a"`` -> (a, 0, False)."""
    if ref.startswith("^"):
        return ref[1:], -1, True
    name, _, port = ref.rpartition(":")
    if name and port.isdigit():
        return name, int(port), False
    return ref, 0, False


def matched(value: T | None, what: str) -> T:
    """``value``, which the pass's pattern match already found: None here is a bug in the pass."""
    if value is None:
        raise AssertionError(f"internal error in a graph pass: {what} is missing after the pattern matched it")
    return value


class GraphEditor:
    """Mutable view of a GraphDef copy: lookup by name, consumers, constants."""

    def __init__(self, graph_def: graph_pb2.GraphDef, protected: Iterable[str], *, consume: bool = False) -> None:
        # Nodes are kept as standalone messages in a Python list (not the GraphDef's repeated
        # field, whose edits copy messages) so references held by a pass stay valid.
        # ``consume`` empties ``graph_def`` as it goes, so its weights are never held twice.
        self._source = graph_def
        self.order: list[node_def_pb2.NodeDef] = []
        for original in graph_def.node:
            node = node_def_pb2.NodeDef()
            node.CopyFrom(original)
            self.order.append(node)
            if consume:
                original.Clear()
        if consume:
            del graph_def.node[:]
        self.protected = frozenset(protected)
        self.reindex()

    def to_graph_def(self) -> graph_pb2.GraphDef:
        graph = graph_pb2.GraphDef()
        graph.CopyFrom(self._source)
        del graph.node[:]
        graph.node.extend(self.order)
        return graph

    @property
    def library(self) -> function_pb2.FunctionDefLibrary:
        """The graph's function library (control-flow v2 bodies), for passes that import the graph."""
        return self._source.library

    def alive(self, node: node_def_pb2.NodeDef) -> bool:
        return self.nodes.get(node.name) is node

    def reindex(self) -> None:
        self.nodes: dict[str, node_def_pb2.NodeDef] = {node.name: node for node in self.order}
        self._uses: dict[str, list[tuple[node_def_pb2.NodeDef, int, bool]]] = {}
        for node in self.order:
            for ref in node.input:
                name, port, control = split_input(ref)
                self._uses.setdefault(name, []).append((node, port, control))

    def __iter__(self) -> Iterator[node_def_pb2.NodeDef]:
        return iter(list(self.order))

    def uses(self, name: str) -> list[tuple[node_def_pb2.NodeDef, int, bool]]:
        """(consumer, output port, is control edge) for every reference to ``name``."""
        return self._uses.get(name, [])

    def sole_data_consumer(self, name: str) -> node_def_pb2.NodeDef | None:
        """The one node reading output 0 of ``name``, when nothing else refers to ``name``."""
        uses = self.uses(name)
        if name in self.protected or len(uses) != 1:
            return None
        consumer, port, control = uses[0]
        return None if control or port != 0 else consumer

    def producer(self, node: node_def_pb2.NodeDef, index: int) -> node_def_pb2.NodeDef | None:
        """The node feeding data input ``index`` of ``node`` from its output 0."""
        data = [ref for ref in node.input if not ref.startswith("^")]
        if index >= len(data):
            return None
        name, port, _ = split_input(data[index])
        return self.nodes.get(name) if port == 0 else None

    def const(self, node: node_def_pb2.NodeDef | None) -> np.ndarray | None:
        if node is None or node.op != "Const":
            return None
        return tf.make_ndarray(node.attr["value"].tensor)

    def set_const(self, node: node_def_pb2.NodeDef, value: np.ndarray) -> None:
        dtype = tf.as_dtype(node.attr["dtype"].type).as_numpy_dtype
        node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.asarray(value, dtype=dtype)))

    def unique_name(self, base: str) -> str:
        name, counter = base, 1
        while name in self.nodes:
            name = f"{base}_{counter}"
            counter += 1
        return name

    def add_node(self, name: str, op: str, inputs: list[str], before: node_def_pb2.NodeDef) -> node_def_pb2.NodeDef:
        """A new node placed just before ``before`` (keeps the order readable and deterministic)."""
        node = node_def_pb2.NodeDef(name=self.unique_name(name), op=op, input=inputs)
        if before.device:
            node.device = before.device
        self.order.insert(next(i for i, n in enumerate(self.order) if n is before), node)
        self.reindex()
        return node

    def add_const(
        self, name: str, value: np.ndarray, before: node_def_pb2.NodeDef, like: node_def_pb2.NodeDef | None = None
    ) -> node_def_pb2.NodeDef:
        """A new Const; with the control inputs of ``like`` (a constant it replaces), which place a
        constant in its while-loop frame when TensorFlow runs the graph."""
        controls = [ref for ref in like.input if ref.startswith("^")] if like is not None else []
        node = self.add_node(name, "Const", controls, before)
        node.attr["dtype"].type = tf.as_dtype(value.dtype).as_datatype_enum
        node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
        return node

    def writable_const(self, const: node_def_pb2.NodeDef, owner: node_def_pb2.NodeDef, suffix: str) -> node_def_pb2.NodeDef:
        """``const`` itself when only ``owner`` reads it, else a copy wired into ``owner``."""
        if len(self.uses(const.name)) == 1 and const.name not in self.protected:
            return const
        value = matched(self.const(const), f"the value of {const.name}")
        copy = self.add_const(f"{owner.name}/{suffix}", value, owner, like=const)
        owner.input[:] = [copy.name if split_input(ref)[:2] == (const.name, 0) else ref for ref in owner.input]
        self.reindex()
        return copy

    def remove(self, names: Iterable[str]) -> None:
        gone = set(names)
        self.order = [node for node in self.order if node.name not in gone]
        self.reindex()

    def absorb(self, survivor: node_def_pb2.NodeDef, absorbed: node_def_pb2.NodeDef) -> None:
        """Give ``survivor`` the name (and control inputs) of ``absorbed``, its sole consumer, and drop it.

        Consumers keep referring to the absorbed node's name, so output names never change.
        """
        controls = [ref for ref in absorbed.input if ref.startswith("^") and ref not in survivor.input]
        self.order = [node for node in self.order if node is not absorbed]
        survivor.name = absorbed.name
        survivor.input.extend(controls)
        self.reindex()

    def drop_orphans(self, candidates: Iterable[str]) -> None:
        """Remove the given constants (the ones a fold replaced) once nothing reads them."""
        dead = [
            name for name in dict.fromkeys(candidates)
            if name in self.nodes and self.nodes[name].op == "Const" and not self.uses(name)
            and name not in self.protected
        ]
        if dead:
            self.remove(dead)

def dtype_of(node: node_def_pb2.NodeDef) -> int:
    """The ``T`` attr (the element type of most math ops); 0 when absent (reading never adds it)."""
    return node.attr["T"].type if "T" in node.attr else 0


def flag(node: node_def_pb2.NodeDef, key: str, default: bool = False) -> bool:
    """A bool attr, with the op's default when the NodeDef omits it (reading never adds it)."""
    return node.attr[key].b if key in node.attr else default


def number(node: node_def_pb2.NodeDef, key: str, default: float) -> float:
    """A float attr, with the op's default when the NodeDef omits it."""
    return node.attr[key].f if key in node.attr else default


def is_float32(node: node_def_pb2.NodeDef) -> bool:
    return dtype_of(node) == tf.float32.as_datatype_enum


def nhwc(node: node_def_pb2.NodeDef) -> bool:
    fmt = node.attr["data_format"].s if "data_format" in node.attr else b"NHWC"
    return fmt in (b"NHWC", b"")
