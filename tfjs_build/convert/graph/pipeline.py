"""Graph models: the conversion pipeline, from a model source to a tf.loadGraphModel folder.

The steps, in order: load the source (``sources.py``), freeze variables into
constants (``frozen.py``; control flow lowered to Switch/Merge unless
``control_flow_v2``), check op support before the expensive work, run Grappler's
generic passes, hand the graph to ``optimize.optimize_for_tfjs`` (batch-norm folding,
backend-aware fusion, exact rewrites), make it what TF.js reads (``finish.py``), then
write the weight shards and model.json (``model_json.py``). When weights are
quantized, the accuracy figures come from running the graph in TF (``evaluate.py``);
``quantize: auto`` picks each weight's dtype by such runs first (``auto_quantize.py``).
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from google.protobuf.internal.encoder import _VarintBytes
from tensorflow.core.framework import graph_pb2
from tensorflow.core.protobuf import config_pb2, meta_graph_pb2
from tensorflow.python.eager import context
from tensorflow.python.grappler import _pywrap_tf_optimizer, cluster

from tfjs_build.config import ModelConfig
from tfjs_build.convert.auto_quantize import AUTO, FLOAT32
from tfjs_build.convert.freeze import FrozenModel, freeze
from tfjs_build.convert.graph.editor import GraphEditor
from tfjs_build.convert.graph.emit import (
    bypass_function_identities,
    canonical_functions,
    drop_stray_placeholders,
    drop_tfjs_blocking_control_edges,
    extract_constants,
    graph_ops,
    rename_function_constants,
    strip_tf_only_fields,
)
from tfjs_build.convert.graph.evaluate import FloatGraph, auto_dtypes, measure_accuracy
from tfjs_build.convert.graph.model_json import model_json, signature_of
from tfjs_build.convert.graph.optimize import check_supported, node_names, optimize_for_tfjs
from tfjs_build.convert.graph.passes.padding import TFJS_ONLY_CONVS, fold_pads
from tfjs_build.convert.graph.set_aside import put_weights_back, set_weights_aside
from tfjs_build.convert.load import load_source
from tfjs_build.convert.result import ConvertResult
from tfjs_build.tfjs_format.quantize import resolve_quantization
from tfjs_build.tfjs_format.weights import write_model_json, write_weights

GRAPPLER_PASSES = ("pruning", "constfold", "arithmetic", "dependency") * 2

# TensorFlow's import leaves ~270k long-lived objects that every full collection would scan
# again (a third of a second per MobileNet conversion): take them out of the collector's view.
gc.freeze()


def convert_graph_model(model: ModelConfig, source: Path, out_dir: Path, work_dir: Path) -> ConvertResult:
    """Convert ``source`` to a tf.loadGraphModel folder in ``out_dir`` (see the module docstring)."""
    frozen = freeze(model, load_source(model, source))
    gc.collect()  # the loaded model and its traced functions go before Grappler needs the memory
    context.context().clear_kernel_cache()  # and the kernels TF cached to restore its variables
    graph_def, signature, rewrites = _optimize(model, frozen)
    runnable = graph_pb2.GraphDef.FromString(graph_def.SerializeToString()) if model.quantize.enabled else None
    graph_def = _finish_for_tfjs(graph_def, frozen, rewrites)
    weights = sorted(extract_constants(graph_def, frozen.initializer), key=_by_name)
    quantize_map, warnings = resolve_quantization(model.quantize, [n for n, _ in weights], model.where("quantize"))
    resources = (frozen.initializer, frozen.resource_inputs, frozen.initializer_outputs)
    float_graph = FloatGraph(model, runnable, resources, signature)
    if AUTO in quantize_map.values():
        choice = auto_dtypes(float_graph, dict(weights), quantize_map)
        quantize_map |= choice.dtypes
    quantize_map = {name: dtype for name, dtype in quantize_map.items() if dtype not in (AUTO, FLOAT32)}
    written = write_weights([weights], out_dir, shard_size=model.shard_size, quantize=quantize_map)
    write_model_json(out_dir, model_json(model, frozen, graph_def, signature, written))
    accuracy = None
    if runnable is not None and written.quantized:
        accuracy = measure_accuracy(float_graph, written.dequantized())
    return ConvertResult(
        params=int(sum(value.size for _, value in weights)),
        ops=graph_ops(graph_def, frozen.initializer),
        weights=written.weights,
        rewrites=tuple(rewrites),
        quantization=written.quantization,
        accuracy=accuracy,
        warnings=tuple(warnings),
    )


def _by_name(weight: tuple[str, Any]) -> str:
    """Weights are written sorted by name: a layer's weights sit together (a changed layer rewrites
    few shards) and the order does not depend on where Grappler put the nodes."""
    return weight[0]


def _optimize(model: ModelConfig, frozen: FrozenModel) -> tuple[Any, dict[str, Any], list[str]]:
    """Grappler's passes, then TF.js's; returns the graph, its signature and the rewrites made."""
    output_nodes = [name.split(":")[0] for _, name in frozen.outputs]
    check_op_support(model, _without_constants(frozen.graph_def), frozen.initializer)
    aside = set_weights_aside(frozen.graph_def, set(output_nodes) | node_names(frozen.input_names()))
    graph_def = run_grappler(_take_serialized(frozen), output_nodes, strip_debug_ops=model.strip_debug_ops)
    # TF can still import the graph (no TF.js-only ops yet), and without the weights it costs little
    signature = signature_of(frozen, graph_def)
    put_weights_back(graph_def, aside)
    del aside
    graph_def, rewrites = optimize_for_tfjs(
        graph_def, backends=model.backends, output_nodes=output_nodes, strip_debug_ops=model.strip_debug_ops,
        consume=True,
    )
    check_op_support(model, graph_def, frozen.initializer)
    canonical_functions(graph_def)
    drop_stray_placeholders(graph_def, {name.split(":")[0] for name in frozen.input_names()})
    for function in graph_def.library.function:
        rename_function_constants(function)
    return graph_def, signature, rewrites


def _finish_for_tfjs(graph_def: Any, frozen: FrozenModel, rewrites: list[str]) -> Any:
    """Changes TF.js wants but TF could not run (kept out of the graph the accuracy check runs)."""
    if any(node.op in ("Pad", "PadV2") for node in graph_def.node):
        ed = GraphEditor(graph_def, node_names(name for _, name in frozen.outputs))
        pads = fold_pads(ed, TFJS_ONLY_CONVS)
        if pads:
            graph_def = ed.to_graph_def()
            rewrites.append(f"merged {pads} zero Pad node{'s' if pads != 1 else ''} into depthwise convolutions "
                            "(explicit padding, which TF.js runs and TF cannot)")
    strip_tf_only_fields(graph_def)
    if frozen.initializer is not None:
        strip_tf_only_fields(frozen.initializer)
    drop_tfjs_blocking_control_edges(graph_def)
    bypass_function_identities(graph_def)
    return graph_def


def run_grappler(graph_bytes: bytes, output_nodes: list[str], *, strip_debug_ops: bool) -> Any:
    """Constant folding, arithmetic simplification, dependency pruning (and debug stripping).

    Takes the serialized GraphDef and builds the serialized MetaGraphDef around it
    (``graph_def`` is its field 2): Grappler holds several copies of the weights, so
    no Python copy of the graph (as a message, or inside a MetaGraphDef message, as
    tf_optimizer.OptimizeGraph needs) may live meanwhile.
    """
    collections = meta_graph_pb2.MetaGraphDef()
    collections.collection_def["train_op"].node_list.value.extend(output_nodes)  # what Grappler must keep
    meta_graph = b"\x12" + _VarintBytes(len(graph_bytes)) + graph_bytes + collections.SerializeToString()
    del graph_bytes
    config = config_pb2.ConfigProto()
    rewrite = config.graph_options.rewrite_options
    rewrite.min_graph_nodes = -1  # small models too
    passes = (("debug_stripper",) if strip_debug_ops else ()) + GRAPPLER_PASSES
    rewrite.optimizers.extend(passes)
    machine = cluster.Cluster()
    try:
        optimized = _pywrap_tf_optimizer.TF_OptimizeGraphSerialized(
            machine.tf_cluster, config.SerializeToString(), meta_graph, True, b"graph_to_optimize", False
        )
    finally:
        machine.Shutdown()
    del meta_graph
    return graph_pb2.GraphDef.FromString(optimized)


def _take_serialized(frozen: FrozenModel) -> bytes:
    """The frozen graph's bytes, dropping the message: Grappler's own copies of the weights
    are a conversion's peak memory, so no other copy may live meanwhile."""
    serialized = frozen.graph_def.SerializeToString()
    frozen.graph_def = None
    return serialized


def _without_constants(graph_def: Any) -> Any:
    """The frozen graph as op support sees it before Grappler: constants (always supported,
    and the bulk of the bytes) left out, so the check does not copy the weights."""
    view = graph_pb2.GraphDef()
    view.node.extend(node for node in graph_def.node if node.op != "Const")
    for function in graph_def.library.function:
        copy = view.library.function.add()
        copy.signature.CopyFrom(function.signature)
        copy.node_def.extend(node for node in function.node_def if node.op != "Const")
    return view


def check_op_support(model: ModelConfig, graph_def: Any, initializer: Any) -> None:
    """Every op some target backend cannot run, listed once with its nodes (rewritable ops excepted)."""
    where = model.where("backends")
    check_supported(graph_def, model.backends, where, strip_debug_ops=model.strip_debug_ops)
    if initializer is not None:
        check_supported(initializer, model.backends, where)
