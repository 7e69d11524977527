"""Graph models: freeze, optimise with Grappler, move constants to weights, write model.json.

The steps, in order: load the source (``sources.py``), freeze variables into
constants (lowering control flow to Switch/Merge unless ``control_flow_v2``), check
op support before the expensive work, run Grappler's generic passes, hand the graph
to ``optimize.optimize_for_tfjs`` (batch-norm folding, backend-aware fusion, exact
rewrites), then strip every constant's value into the weight shards. Hash tables
become a second frozen graph, the ``modelInitializer``, whose outputs TF.js links to
the inference graph's resource inputs by ``resourceId``.

Resource ids are numbered 0, 1, ... in input order rather than taken from TF's
runtime ids, so converting twice gives the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import tensorflow as tf
from google.protobuf.json_format import MessageToDict
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import config_pb2
from tensorflow.python.framework import convert_to_constants
from tensorflow.python.grappler import tf_optimizer

from tfjs_build import __version__
from tfjs_build.config import ModelConfig
from tfjs_build.convert.optimize import optimize_for_tfjs
from tfjs_build.convert.sources import LoadedSource, load_source, make_initializer
from tfjs_build.errors import ConfigError, UnsupportedModelError
from tfjs_build.ops import find_unsupported, format_unsupported
from tfjs_build.quantize import resolve_quantization
from tfjs_build.records import ConvertResult
from tfjs_build.weights import WrittenWeights, write_model_json, write_weights

GRAPPLER_PASSES = ("pruning", "constfold", "arithmetic", "dependency") * 2
# Tensor contents a Const keeps in the topology are cleared: the value lives in the weights.
VALUE_FIELDS = (
    "tensor_content", "half_val", "float_val", "double_val", "int_val", "string_val", "scomplex_val",
    "int64_val", "bool_val", "dcomplex_val", "resource_handle_val", "variant_val", "uint32_val", "uint64_val",
)
INITIALIZER_PREFIX = "__initializer__"


@dataclass
class FrozenModel:
    """A frozen inference graph (and optional initializer graph) with the signature to write."""

    graph_def: Any
    inputs: list[tuple[str, str]]  # (signature key, tensor name) of the user's inputs
    outputs: list[tuple[str, str]]  # (signature key, tensor name)
    resource_inputs: list[str]  # tensor names of resource placeholders, by resource id
    initializer: Any  # GraphDef or None
    initializer_outputs: list[str]  # tensor names, by resource id


def convert_graph_model(model: ModelConfig, source: Path, out_dir: Path, work_dir: Path) -> ConvertResult:
    """Convert ``source`` to a tf.loadGraphModel folder in ``out_dir`` (see the module docstring)."""
    loaded = load_source(model, source)
    frozen = freeze(model, loaded)
    output_nodes = [name.split(":")[0] for _, name in frozen.outputs]
    graph_def = run_grappler(frozen.graph_def, output_nodes, strip_debug_ops=model.strip_debug_ops)
    graph_def, rewrites = optimize_for_tfjs(graph_def, backends=model.backends, output_nodes=output_nodes)
    check_op_support(model, graph_def, frozen.initializer)
    _clear_devices(graph_def)
    signature = _signature(frozen, graph_def)  # before the constants lose their values
    groups = [list(_extract_constants(graph_def, frozen.initializer))]
    names = [name for name, _ in groups[0]]
    quantize_map, warnings = resolve_quantization(model.quantize, names, model.where("quantize"))
    written = write_weights(groups, out_dir, shard_size=model.shard_size, quantize=quantize_map)
    write_model_json(out_dir, _model_json(model, loaded, frozen, graph_def, signature, written))
    accuracy = None
    if written.quantized:
        from tfjs_build.convert.accuracy_check import measure_accuracy  # noqa: PLC0415

        accuracy = measure_accuracy(model, frozen, dict(groups[0]), written)
    return ConvertResult(
        params=int(sum(int(np.prod(v.shape)) for _, v in groups[0])),
        ops=graph_ops(graph_def, frozen.initializer),
        weights=written.weights,
        rewrites=tuple(rewrites),
        quantization=written.quantization,
        accuracy=accuracy,
        warnings=tuple(warnings),
    )


# ---------------------------------------------------------------- freezing


def freeze(model: ModelConfig, loaded: LoadedSource) -> FrozenModel:
    """Variables to constants; a TF1 frozen graph passes through unchanged."""
    if loaded.function is None:
        return FrozenModel(loaded.graph_def, list(loaded.inputs), list(loaded.outputs), [], None, [])
    lower = not model.control_flow_v2
    function = loaded.function
    frozen = convert_to_constants.convert_variables_to_constants_v2(
        function, lower_control_flow=lower, aggressive_inlining=True
    )
    renamed = {old.name: new.name for old, new in zip(function.outputs, frozen.outputs)}
    graph_def = frozen.graph.as_graph_def()
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
        init_frozen = convert_to_constants.convert_variables_to_constants_v2(
            init_function, lower_control_flow=lower, aggressive_inlining=True
        )
        initializer = _prefix_graph(init_frozen.graph.as_graph_def(), INITIALIZER_PREFIX)
        initializer_outputs = [f"{INITIALIZER_PREFIX}/{t.name}" for t in init_frozen.outputs]
    return FrozenModel(
        graph_def=graph_def,
        inputs=inputs,
        outputs=[(key, renamed[name]) for key, name in loaded.outputs],
        resource_inputs=resource_inputs,
        initializer=initializer,
        initializer_outputs=initializer_outputs,
    )


def _prefix_graph(graph_def: Any, prefix: str) -> Any:
    """Rename every node: the initializer shares TF.js's weight map with the inference graph."""
    for node in graph_def.node:
        node.name = f"{prefix}/{node.name}"
        node.input[:] = [_prefixed(ref, prefix) for ref in node.input]
    return graph_def


def _prefixed(ref: str, prefix: str) -> str:
    return f"^{prefix}/{ref[1:]}" if ref.startswith("^") else f"{prefix}/{ref}"


# ---------------------------------------------------------------- Grappler


def run_grappler(graph_def: Any, output_nodes: list[str], *, strip_debug_ops: bool) -> Any:
    """Constant folding, arithmetic simplification, dependency pruning (and debug stripping)."""
    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(graph_def, name="")
        meta_graph = tf.compat.v1.train.export_meta_graph(graph_def=graph_def, graph=graph)
    fetches = meta_graph.collection_def["train_op"].node_list.value
    fetches.extend(output_nodes)
    config = config_pb2.ConfigProto()
    rewrite = config.graph_options.rewrite_options
    rewrite.min_graph_nodes = -1  # small models too
    passes = (("debug_stripper",) if strip_debug_ops else ()) + GRAPPLER_PASSES
    rewrite.optimizers.extend(passes)
    return tf_optimizer.OptimizeGraph(config, meta_graph)


def check_op_support(model: ModelConfig, graph_def: Any, initializer: Any) -> None:
    """Every op some target backend cannot run, listed once with its nodes, before any weight is written."""
    nodes = [(node.name, node.op) for node in graph_def.node]
    for function in graph_def.library.function:
        nodes += [(f"{function.signature.name}/{node.name}", node.op) for node in function.node_def]
    if initializer is not None:
        nodes += [(node.name, node.op) for node in initializer.node]
    findings = find_unsupported(nodes, model.backends)
    if findings:
        raise UnsupportedModelError(
            f"{model.where('backends')}: model {model.name!r} uses ops that TF.js cannot run on "
            f"{', '.join(model.backends)}:\n{format_unsupported(findings)}\n"
            "Drop the backends that lack them from `backends:`, or change the model to avoid these ops."
        )


def _clear_devices(graph_def: Any) -> None:
    """Device placements and debug info mean nothing to TF.js and only cost bytes."""
    for node in _all_nodes(graph_def):
        node.device = ""
        node.ClearField("experimental_debug_info")


def _all_nodes(graph_def: Any) -> Iterable[Any]:
    yield from graph_def.node
    for function in graph_def.library.function:
        yield from function.node_def


# ---------------------------------------------------------------- constants to weights


def _extract_constants(graph_def: Any, initializer: Any) -> Iterable[tuple[str, np.ndarray]]:
    """Every Const value, in graph order: the inference graph, function bodies, the initializer.

    Function-body constants are renamed ``FUNCTION/NAME``: TF.js looks all weights up
    in one map, so names must be unique across the graph and its functions.
    """
    yield from _take_values(graph_def.node)
    for function in sorted(graph_def.library.function, key=lambda f: f.signature.name):
        _rename_function_constants(function)
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


def _rename_function_constants(function: Any) -> None:
    prefix = function.signature.name
    renamed = {n.name: f"{prefix}/{n.name}" for n in function.node_def if n.op == "Const"}
    if not renamed:
        return
    for node in function.node_def:
        if node.name in renamed:
            node.name = renamed[node.name]
        node.input[:] = [_rename_ref(ref, renamed) for ref in node.input]
    for key, ref in list(function.ret.items()):
        function.ret[key] = _rename_ref(ref, renamed)


def _rename_ref(ref: str, renamed: dict[str, str]) -> str:
    control = ref.startswith("^")
    name, sep, rest = ref.lstrip("^").partition(":")
    if name not in renamed:
        return ref
    return ("^" if control else "") + renamed[name] + sep + rest


def graph_ops(graph_def: Any, initializer: Any) -> tuple[str, ...]:
    """Sorted unique op names, function bodies and the initializer included."""
    ops = {node.op for node in _all_nodes(graph_def)}
    if initializer is not None:
        ops.update(node.op for node in initializer.node)
    return tuple(sorted(ops))


# ---------------------------------------------------------------- model.json


def _model_json(
    model: ModelConfig,
    loaded: LoadedSource,
    frozen: FrozenModel,
    graph_def: Any,
    signature: dict[str, Any],
    written: WrittenWeights,
) -> dict[str, Any]:
    """model.json with its keys in the reference converter's order (see docs/tfjs-format.md)."""
    data: dict[str, Any] = {
        "format": "graph-model",
        "generatedBy": loaded.tf_version,
        "convertedBy": f"tfjs-build {__version__}",
        "signature": signature,
        "modelTopology": MessageToDict(graph_def),
    }
    metadata = _user_metadata(model, loaded, frozen)
    if metadata:
        data["userDefinedMetadata"] = metadata
    if frozen.initializer is not None:
        data["modelInitializer"] = MessageToDict(frozen.initializer)
        data["initializerSignature"] = {
            "outputs": {
                name: {"name": name, "dtype": "DT_RESOURCE", "tensorShape": {}, "resourceId": index}
                for index, name in enumerate(frozen.initializer_outputs)
            }
        }
    data["weightsManifest"] = written.manifest
    return data


def _signature(frozen: FrozenModel, graph_def: Any) -> dict[str, Any]:
    """Signature entries with dtype and shape as TF's shape inference sees the final graph."""
    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(graph_def, name="")
    present = {node.name for node in graph_def.node}
    inputs = {key: _tensor_info(graph, name) for key, name in frozen.inputs if name.split(":")[0] in present}
    for index, name in enumerate(frozen.resource_inputs):
        if name.split(":")[0] in present:
            inputs[name] = {**_tensor_info(graph, name), "resourceId": index}
    outputs = {key: _tensor_info(graph, name) for key, name in frozen.outputs}
    return {"inputs": inputs, "outputs": outputs}


def _tensor_info(graph: Any, name: str) -> dict[str, Any]:
    tensor = graph.get_tensor_by_name(name)
    return {
        "name": name,
        "dtype": types_pb2.DataType.Name(tensor.dtype.as_datatype_enum),
        "tensorShape": MessageToDict(tensor.shape.as_proto()),
    }


def _user_metadata(model: ModelConfig, loaded: LoadedSource, frozen: FrozenModel) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for key, path in model.metadata:
        try:
            metadata[key] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ConfigError(
                f"{model.where(f'metadata.{key}')}: cannot read {path} as JSON ({exc}); "
                "metadata values must be JSON files"
            ) from None
    if loaded.dict_outputs:
        if "structuredOutputKeys" in metadata:
            raise ConfigError(
                f"{model.where('metadata.structuredOutputKeys')}: structuredOutputKeys is reserved: "
                "tfjs-build writes it for models with dict outputs; rename this metadata key"
            )
        metadata["structuredOutputKeys"] = [key for key, _ in frozen.outputs]
    return metadata
