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

import gc
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import tensorflow as tf
from google.protobuf.json_format import MessageToDict
from tensorflow.core.framework import graph_pb2, types_pb2
from tensorflow.core.protobuf import config_pb2
from tensorflow.python.framework import convert_to_constants
from tensorflow.python.grappler import tf_optimizer

from tfjs_build import __version__
from tfjs_build.config import ModelConfig
from tfjs_build.convert.optimize import check_supported, optimize_for_tfjs
from tfjs_build.convert.evaluate import measure_accuracy
from tfjs_build.convert.sources import LoadedSource, load_source, make_initializer
from tfjs_build.errors import ConfigError, UnsupportedModelError
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
_FUNCTION_ID = re.compile(r"(_\d+)+|_frozen")


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


def convert_graph_model(model: ModelConfig, source: Path, out_dir: Path, work_dir: Path) -> ConvertResult:
    """Convert ``source`` to a tf.loadGraphModel folder in ``out_dir`` (see the module docstring)."""
    frozen = freeze(model, load_source(model, source))
    gc.collect()  # the loaded model and its traced functions go before Grappler needs the memory
    output_nodes = [name.split(":")[0] for _, name in frozen.outputs]
    check_op_support(model, frozen.graph_def, frozen.initializer)  # before the expensive work
    graph_def = run_grappler(frozen.graph_def, output_nodes, strip_debug_ops=model.strip_debug_ops)
    signature = _signature(frozen, graph_def)  # TF can still import the graph: no TF.js-only ops yet
    graph_def, rewrites = optimize_for_tfjs(graph_def, backends=model.backends, output_nodes=output_nodes)
    check_op_support(model, graph_def, frozen.initializer)
    canonical_functions(graph_def)
    _drop_stray_placeholders(graph_def, frozen)
    for function in graph_def.library.function:
        _rename_function_constants(function)
    runnable = graph_pb2.GraphDef.FromString(graph_def.SerializeToString()) if model.quantize.enabled else None
    _strip_tf_only_fields(graph_def)
    if frozen.initializer is not None:
        _strip_tf_only_fields(frozen.initializer)
    _drop_tfjs_blocking_control_edges(graph_def)
    groups = [list(_extract_constants(graph_def, frozen.initializer))]
    names = [name for name, _ in groups[0]]
    quantize_map, warnings = resolve_quantization(model.quantize, names, model.where("quantize"))
    written = write_weights(groups, out_dir, shard_size=model.shard_size, quantize=quantize_map)
    write_model_json(out_dir, _model_json(model, frozen, graph_def, signature, written))
    accuracy = None
    if runnable is not None and written.quantized:
        resources = (frozen.initializer, frozen.resource_inputs, frozen.initializer_outputs)
        accuracy = measure_accuracy(model, runnable, resources, signature, written.dequantized())
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
        node.input[:] = [_rename_ref(ref, renamed) for ref in node.input]
        if "shared_name" in node.attr and node.attr["shared_name"].s:
            node.attr["shared_name"].s = f"{prefix}/resource_{tables}".encode()
            tables += 1
    return graph_def


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
    for node in _all_nodes(graph_def):
        for ref in _function_refs(node):
            ref.name = renamed.get(ref.name, ref.name)
    kept = [functions[name] for name in order]
    for function in kept:
        function.signature.name = renamed[function.signature.name]
    library = type(graph_def.library)()
    library.function.extend(kept)
    graph_def.library.CopyFrom(library)


def _drop_stray_placeholders(graph_def: Any, frozen: FrozenModel) -> None:
    """Lowering control flow leaves ``unused_control_flow_input`` placeholders whose dtype varies by run."""
    wanted = {name.split(":")[0] for _, name in frozen.inputs} | {n.split(":")[0] for n in frozen.resource_inputs}
    used = {ref.lstrip("^").split(":")[0] for node in graph_def.node for ref in node.input}
    keep = [n for n in graph_def.node if n.op != "Placeholder" or n.name in wanted or n.name in used]
    if len(keep) != len(graph_def.node):
        del graph_def.node[:]
        graph_def.node.extend(keep)


def _function_refs(node: Any) -> Iterable[Any]:
    """The NameAttrList entries (func attrs and lists of them) a node uses, in attr-name order."""
    for key in sorted(node.attr):
        attr = node.attr[key]
        if attr.HasField("func"):
            yield attr.func
        elif attr.HasField("list"):
            yield from attr.list.func


def check_op_support(model: ModelConfig, graph_def: Any, initializer: Any) -> None:
    """Every op some target backend cannot run, listed once with its nodes (rewritable ops excepted)."""
    where = model.where("backends")
    check_supported(graph_def, model.backends, where)
    if initializer is not None:
        check_supported(initializer, model.backends, where)


def _strip_tf_only_fields(graph_def: Any) -> None:
    """Devices, debug info, full types and TF-internal ``_`` attrs: TF.js reads none of them,
    they cost bytes, and some (``_has_manual_control_dependencies``) vary between runs."""
    for node in _all_nodes(graph_def):
        node.device = ""
        node.ClearField("experimental_debug_info")
        node.ClearField("experimental_type")
        for key in [k for k in node.attr if k.startswith("_")]:
            del node.attr[key]


def _drop_tfjs_blocking_control_edges(graph_def: Any) -> None:
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
    frozen: FrozenModel,
    graph_def: Any,
    signature: dict[str, Any],
    written: WrittenWeights,
) -> dict[str, Any]:
    """model.json with its keys in the reference converter's order (see docs/tfjs-format.md)."""
    data: dict[str, Any] = {
        "format": "graph-model",
        "generatedBy": frozen.tf_version,
        "convertedBy": f"tfjs-build {__version__}",
        "signature": signature,
        "modelTopology": graph_json(graph_def),
    }
    metadata = _user_metadata(model, frozen)
    if metadata:
        data["userDefinedMetadata"] = metadata
    if frozen.initializer is not None:
        data["modelInitializer"] = graph_json(frozen.initializer)
        data["initializerSignature"] = {
            "outputs": {
                name: {"name": name, "dtype": "DT_RESOURCE", "tensorShape": {}, "resourceId": index}
                for index, name in enumerate(frozen.initializer_outputs)
            }
        }
    data["weightsManifest"] = written.manifest
    return data


# Protobuf map fields: their iteration order is not stable between runs, so they are sorted.
MAP_FIELDS = frozenset({"attr", "ret", "controlRet", "argAttr", "resourceArgUniqueId"})


def graph_json(graph_def: Any) -> dict[str, Any]:
    """A GraphDef as protobuf JSON (MessageToDict conventions) with map keys in sorted order."""
    return _sort_maps(MessageToDict(graph_def))


def _sort_maps(value: Any) -> Any:
    if isinstance(value, list):
        return [_sort_maps(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: ({k: _sort_maps(v) for k, v in sorted(item.items())} if key in MAP_FIELDS else _sort_maps(item))
        for key, item in value.items()
    }


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


def _user_metadata(model: ModelConfig, frozen: FrozenModel) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for key, path in model.metadata:
        try:
            metadata[key] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ConfigError(
                f"{model.where(f'metadata.{key}')}: cannot read {path} as JSON ({exc}); "
                "metadata values must be JSON files"
            ) from None
    if frozen.dict_outputs:
        if "structuredOutputKeys" in metadata:
            raise ConfigError(
                f"{model.where('metadata.structuredOutputKeys')}: structuredOutputKeys is reserved: "
                "tfjs-build writes it for models with dict outputs; rename this metadata key"
            )
        metadata["structuredOutputKeys"] = [key for key, _ in frozen.outputs]
    return metadata
