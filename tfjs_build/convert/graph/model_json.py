"""model.json for a graph model: keys in the reference converter's order, deterministic JSON.

See docs/tfjs-format.md: ``format``, ``generatedBy``, ``convertedBy``, ``signature``,
``modelTopology``, optional ``userDefinedMetadata``, optional ``modelInitializer`` +
``initializerSignature``, ``weightsManifest``.
"""

from __future__ import annotations

import json
from typing import Any

import tensorflow as tf
from google.protobuf.json_format import MessageToDict
from tensorflow.core.framework import types_pb2

from tfjs_build import __version__
from tfjs_build.config import ModelConfig
from tfjs_build.convert.freeze import FrozenModel
from tfjs_build.errors import ConfigError
from tfjs_build.tfjs_format.weights import WrittenWeights

# Protobuf map fields: their iteration order is not stable between runs, so they are sorted.
MAP_FIELDS = frozenset({"attr", "ret", "controlRet", "argAttr", "resourceArgUniqueId"})


def model_json(
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


def signature_of(frozen: FrozenModel, graph_def: Any) -> dict[str, Any]:
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
