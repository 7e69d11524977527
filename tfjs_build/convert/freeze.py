"""Freezing: a loaded model's function becomes a GraphDef with its variables as constants.

Hash tables and other resources cannot be constants: they become a second frozen
graph, the ``modelInitializer``, which creates and fills them; TF.js links its
outputs to the inference graph's resource inputs by ``resourceId``. Resource ids are
numbered 0, 1, ... in input order rather than taken from TF's runtime ids, and the
initializer's runtime-id names are renumbered, so converting twice gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tensorflow.python.framework import convert_to_constants

from tfjs_build.config import ModelConfig
from tfjs_build.convert.graph.emit import rename_ref
from tfjs_build.convert.graph.passes.inline import inline_calls
from tfjs_build.convert.load import LoadedSource, make_initializer
from tfjs_build.errors import UnsupportedModelError

INITIALIZER_PREFIX = "tfjs_initializer"  # a valid TF node name prefix, so TF can run it too


@dataclass
class FrozenModel:
    """A frozen inference graph (and optional initializer graph) with the signature to write."""

    graph_def: Any
    inputs: list[tuple[str, str]]  # (signature key, tensor name) of the user's inputs
    outputs: list[tuple[str, str]]  # (signature key, tensor name)
    resource_inputs: list[str]  # tensor names of resource placeholders, by resource id
    initializer: Any  # GraphDef or None
    initializer_outputs: list[str]  # tensor names, by resource id
    dict_outputs: bool
    tf_version: str

    def input_names(self) -> list[str]:
        """Tensor names of every signature input, the user's and the resources'."""
        return [name for _, name in self.inputs] + self.resource_inputs


def freeze(model: ModelConfig, loaded: LoadedSource) -> FrozenModel:
    """Variables to constants; a TF1 frozen graph passes through (with its function calls inlined)."""
    if loaded.function is None:
        inline_calls(loaded.graph_def)
        return FrozenModel(
            loaded.graph_def, list(loaded.inputs), list(loaded.outputs), [], None, [], False, loaded.tf_version
        )
    lower = not model.control_flow_v2
    graph_def = _frozen_graph_def(loaded.function, lower)
    placeholders = {f"{n.name}:0" for n in graph_def.node if n.op == "Placeholder"}
    inputs = [(key, name) for key, name in loaded.inputs if name in placeholders]
    resources = [(name, owner) for name, owner in loaded.resources if name in placeholders]
    orphans = [name for name, owner in resources if owner is None]
    if orphans:
        raise UnsupportedModelError(
            f"{model.where('source')}: the model reads resource(s) {', '.join(orphans)} that are neither "
            "variables nor tracked hash tables, so TF.js could not recreate them"
        )
    resource_inputs = [name for name, _ in resources]
    initializer, initializer_outputs = None, []
    if resources:
        init_function = make_initializer(model, tuple(owner for _, owner in resources))
        initializer = _prefix_graph(_frozen_graph_def(init_function, lower), INITIALIZER_PREFIX)
        initializer_outputs = [f"{INITIALIZER_PREFIX}/{t.name}" for t in init_function.outputs]
    return FrozenModel(
        graph_def=graph_def,
        inputs=inputs,
        outputs=list(loaded.outputs),
        resource_inputs=resource_inputs,
        initializer=initializer,
        initializer_outputs=initializer_outputs,
        dict_outputs=loaded.dict_outputs,
        tf_version=loaded.tf_version,
    )


def _frozen_graph_def(function: Any, lower_control_flow: bool) -> Any:
    """The function's graph with variables as constants; tensor names stay those of ``function``.

    convert_variables_to_constants_v2 would also wrap the result in a new
    ConcreteFunction, which costs more time and memory than the freezing itself.
    """
    data = convert_to_constants._FunctionConverterDataInEager(  # noqa: SLF001
        func=function, lower_control_flow=lower_control_flow, aggressive_inlining=True
    )
    graph_def, _ = convert_to_constants._replace_variables_by_constants(converter_data=data)  # noqa: SLF001
    inline_calls(graph_def)  # what freezing leaves: _noinline and XLA-compiled functions, calls in loop bodies
    return graph_def


def _prefix_graph(graph_def: Any, prefix: str) -> Any:
    """Rename every node: the initializer shares TF.js's weight map with the inference graph.

    Its constants are captured tensors that TF names after runtime ids ("12311"), and
    its tables' ``shared_name`` holds such ids too; both differ between runs, so they
    are numbered in graph order instead.
    """
    consts = (node.name for node in graph_def.node if node.op == "Const")
    renamed = {name: f"{prefix}/const_{i}" for i, name in enumerate(consts)}
    renamed.update({n.name: f"{prefix}/{n.name}" for n in graph_def.node if n.name not in renamed})
    tables = 0
    for node in graph_def.node:
        node.name = renamed[node.name]
        node.input[:] = [rename_ref(ref, renamed) for ref in node.input]
        if "shared_name" in node.attr and node.attr["shared_name"].s:
            node.attr["shared_name"].s = f"{prefix}/resource_{tables}".encode()
            tables += 1
    return graph_def
