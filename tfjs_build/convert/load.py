"""Load a model source into one shape: a TF2 function (or a frozen GraphDef) with named ends.

Every input format ends up as a ``LoadedSource``: the function to freeze, the
signature keys users know (the names they gave their inputs and outputs, not
``keras_tensor_6`` or ``Identity_1``), and, when the model owns hash tables or other
resources, a second function that creates and initialises them (TF.js runs it
once as the ``modelInitializer``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf
from google.protobuf.message import DecodeError
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.checkpoint.trackable_view import TrackableView
from tensorflow.python.trackable.resource import TrackableResource
from tensorflow.python.util import nest

from tfjs_build.config import ModelConfig
from tfjs_build.convert.graph.passes.inline import used_functions
from tfjs_build.errors import SourceError, UnsupportedModelError
from tfjs_build.hints import did_you_mean


@dataclass
class LoadedSource:
    """A model ready to freeze. ``inputs``/``outputs`` are (signature key, tensor name) pairs."""

    function: Any  # ConcreteFunction, or None for a frozen GraphDef
    graph_def: Any  # GraphDef of a TF1 frozen graph, else None
    inputs: tuple[tuple[str, str], ...]
    outputs: tuple[tuple[str, str], ...]  # in the order TF.js should return them
    dict_outputs: bool  # the model returns a dict: write structuredOutputKeys
    resources: tuple[tuple[str, Any], ...]  # (resource placeholder tensor name, TrackableResource)
    tf_version: str
    owner: Any  # the loaded object; keeps captured resources alive while converting


def load_source(model: ModelConfig, source: Path) -> LoadedSource:
    """Dispatch on ``model.input_format``; every failure names the model's config line."""
    loaders = {
        "saved_model": _load_saved_model,
        "keras": _load_keras,
        "frozen_graph": _load_frozen_graph,
        "tf_hub": _load_hub_module,
    }
    return loaders[model.input_format](model, source)


# ---------------------------------------------------------------- SavedModel / TF Hub


def _load_tf2(model: ModelConfig, source: Path) -> Any:
    try:
        with tempfile.TemporaryDirectory(prefix="tfjs-build-savedmodel-") as scratch:
            pruned = _inference_only_copy(source, Path(scratch))
            return tf.saved_model.load(str(pruned or source), tags=list(model.tags) or None)
    except (RuntimeError, ValueError, OSError, tf.errors.OpError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(
            f"{model.where('source')}: cannot load the SavedModel {source} with tags "
            f"{list(model.tags)}: {first}; check `tags:` (saved_model_cli show --dir {source} "
            "lists them) or re-export the model"
        ) from None


def _inference_only_copy(source: Path, scratch: Path) -> Path | None:
    """``source`` without the library functions no saved object uses, in ``scratch``; None if
    there are none to drop (or the model has assets, whose paths would point into ``scratch``).

    TF loads every library function into a Python graph, and Keras exports carry the TF1
    saver's save and restore functions, larger than the model itself (MobileNetV2: 3,200
    nodes against 830), which only the TF1 loader uses. The checkpoint is linked, not copied.
    """
    try:
        saved_model = saved_model_pb2.SavedModel.FromString((source / "saved_model.pb").read_bytes())
    except (OSError, DecodeError):
        return None  # tf.saved_model.load says what is wrong
    if len(saved_model.meta_graphs) != 1:
        return None
    meta_graph = saved_model.meta_graphs[0]
    objects = meta_graph.object_graph_def
    if not objects.nodes or meta_graph.asset_file_def or any(n.WhichOneof("kind") == "asset" for n in objects.nodes):
        return None
    library = meta_graph.graph_def.library
    used = used_functions(library, list(objects.concrete_functions))
    kept = [function for function in library.function if function.signature.name in used]
    if len(kept) == len(library.function):
        return None
    del library.function[:]
    library.function.extend(kept)
    (scratch / "saved_model.pb").write_bytes(saved_model.SerializeToString())
    if (source / "variables").is_dir():
        (scratch / "variables").symlink_to((source / "variables").resolve(), target_is_directory=True)
    return scratch


def _load_saved_model(model: ModelConfig, source: Path) -> LoadedSource:
    loaded = _load_tf2(model, source)
    signatures = dict(loaded.signatures)
    if model.signature not in signatures:
        names = sorted(signatures)
        raise SourceError(
            f"{model.where('signature')}: the SavedModel has no signature {model.signature!r}"
            f"{did_you_mean(model.signature, names)}; it has: {', '.join(names) or 'none'}"
        )
    function = signatures[model.signature]
    outputs = _output_pairs(model, function)
    return _traced(model, loaded, function, outputs, dict_outputs=len(outputs) > 1)


def _load_hub_module(model: ModelConfig, source: Path) -> LoadedSource:
    """A TF2 Hub module is a SavedModel whose entry point is its ``__call__``, not a signature."""
    loaded = _load_tf2(model, source)
    call = getattr(loaded, "__call__", None)  # noqa: B004  (the restored function, for its concrete_functions)
    candidates = [f for f in getattr(call, "concrete_functions", ()) if not _is_training(f)]
    if not candidates:
        raise SourceError(
            f"{model.where('source')}: this TF Hub module has no traced __call__ for inference; "
            "use input_format: saved_model with a `signature:` instead"
        )
    traced = candidates[0]
    specs = tf.nest.flatten(traced.structured_input_signature[0])
    kwargs = {k: v for k, v in traced.structured_input_signature[1].items() if not isinstance(v, tf.TensorSpec)}

    @tf.function(input_signature=[tf.TensorSpec(s.shape, s.dtype, name=_spec_name(s, i)) for i, s in enumerate(specs)])
    def serve(*args: Any) -> Any:
        packed = tf.nest.pack_sequence_as(traced.structured_input_signature[0], list(args))
        return _as_output_dict(loaded(*packed, **kwargs))

    function = serve.get_concrete_function()
    outputs = _output_pairs(model, function)
    return _traced(model, loaded, function, outputs, dict_outputs=isinstance(traced.structured_outputs, dict))


def _traced(
    model: ModelConfig, owner: Any, function: Any, outputs: tuple[tuple[str, str], ...], *, dict_outputs: bool
) -> LoadedSource:
    """A LoadedSource for a TF2 function; ``owner`` holds what it captures (and made it)."""
    return LoadedSource(
        function=function,
        graph_def=None,
        inputs=_input_pairs(function),
        outputs=outputs,
        dict_outputs=dict_outputs,
        resources=_resources_of(model, owner, function),
        tf_version=str(getattr(owner, "tensorflow_version", "") or tf.__version__),
        owner=owner,
    )


def _is_training(function: Any) -> bool:
    return function.structured_input_signature[1].get("training") is True


def _spec_name(spec: Any, index: int) -> str:
    return spec.name or ("inputs" if index == 0 else f"inputs_{index}")


def _as_output_dict(result: Any) -> dict[str, Any]:
    if isinstance(result, dict):
        return dict(result)
    flat = tf.nest.flatten(result)
    return {f"output_{i}": tensor for i, tensor in enumerate(flat)}


# ---------------------------------------------------------------- Keras


def _load_keras(model: ModelConfig, source: Path) -> LoadedSource:
    import keras  # noqa: PLC0415  (Keras is only needed for this input format)

    try:
        net = keras.models.load_model(str(source), compile=False)
    except Exception as exc:  # noqa: BLE001  (Keras raises many types for unreadable files)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(
            f"{model.where('source')}: cannot load the Keras model {source}: {first}; "
            "models with custom layers must be saved as a SavedModel (model.export(...)) instead"
        ) from None
    if not getattr(net, "inputs", None):
        raise UnsupportedModelError(
            f"{model.where('source')}: the Keras model has no defined inputs (a subclassed model?); "
            "export it with model.export(DIR) and use that SavedModel as the source"
        )
    input_names = _unique([_keras_name(t, "input") for t in net.inputs])
    specs = [tf.TensorSpec(t.shape, t.dtype, name=name) for t, name in zip(net.inputs, input_names, strict=True)]
    structure = getattr(net, "_outputs_struct", net.outputs)
    is_dict = isinstance(structure, dict)
    output_keys = list(structure) if is_dict else _unique([_keras_name(t, "output") for t in net.outputs])

    @tf.function(input_signature=specs)
    def serve(*args: Any) -> Any:
        packed = tf.nest.pack_sequence_as(getattr(net, "_inputs_struct", net.inputs), list(args))
        result = net(packed, training=False)
        flat = [result[k] for k in output_keys] if is_dict else tf.nest.flatten(result)
        return dict(zip(output_keys, flat, strict=True))

    function = serve.get_concrete_function()
    by_key = dict(_output_pairs(model, function))
    outputs = tuple((key, by_key[key]) for key in (sorted(output_keys) if is_dict else output_keys))
    return _traced(model, net, function, outputs, dict_outputs=is_dict)


def _keras_name(tensor: Any, fallback: str) -> str:
    """The name of the layer that made ``tensor``: what users named it (``image``, ``logits``)."""
    history = getattr(tensor, "_keras_history", None)
    operation = getattr(history, "operation", None)
    return str(getattr(operation, "name", "") or fallback)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        result.append(name if count == 0 else f"{name}_{count}")
    return result


# ---------------------------------------------------------------- frozen GraphDef


def _load_frozen_graph(model: ModelConfig, source: Path) -> LoadedSource:
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(source.read_bytes())
    except Exception as exc:  # noqa: BLE001  (protobuf raises DecodeError and friends)
        raise SourceError(
            f"{model.where('source')}: {source} is not a binary GraphDef ({type(exc).__name__}); "
            "write it with tf.io.write_graph(..., as_text=False)"
        ) from None
    nodes = {node.name: node for node in graph_def.node}
    outputs = []
    for name in model.outputs:
        node_name, _, index = name.partition(":")
        if node_name not in nodes:
            raise SourceError(
                f"{model.where('outputs')}: the graph has no node {node_name!r}"
                f"{did_you_mean(node_name, list(nodes))}; list output node names in `outputs:`"
            )
        outputs.append((node_name, f"{node_name}:{index or 0}"))
    inputs = tuple((n.name, f"{n.name}:0") for n in graph_def.node if n.op in ("Placeholder", "PlaceholderWithDefault"))
    return LoadedSource(
        function=None,
        graph_def=graph_def,
        inputs=inputs,
        outputs=tuple(outputs),
        dict_outputs=False,
        resources=(),
        tf_version=tf.__version__,
        owner=None,
    )


# ---------------------------------------------------------------- signature keys


def _input_pairs(function: Any) -> tuple[tuple[str, str], ...]:
    """(key, placeholder tensor name) for the user's inputs, in the function's argument order."""
    paths = nest.flatten_with_joined_string_paths(function.structured_input_signature)
    return tuple(
        (spec.name or path.replace("/", "_"), tensor.name)
        for (path, spec), tensor in zip(paths, function.inputs, strict=False)  # inputs may add captured tensors
    )


def _output_pairs(model: ModelConfig, function: Any) -> tuple[tuple[str, str], ...]:
    structure = function.structured_outputs
    if not isinstance(structure, dict):
        raise UnsupportedModelError(
            f"{model.where('source')}: the model's outputs are a {type(structure).__name__}, "
            "expected a dict of named tensors; export it with a signature that returns a dict"
        )
    paths = nest.flatten_with_joined_string_paths(structure)
    if len(paths) != len(function.outputs) or any("/" in path for path, _ in paths):
        raise UnsupportedModelError(
            f"{model.where('source')}: nested outputs are not supported by tf.loadGraphModel; "
            "return a flat dict of tensors"
        )
    return tuple((path, tensor.name) for (path, _), tensor in zip(paths, function.outputs, strict=True))


# ---------------------------------------------------------------- resources (hash tables)


def _resources_of(model: ModelConfig, root: Any, function: Any) -> tuple[tuple[str, Any], ...]:
    """(placeholder name, TrackableResource or None) for each captured resource input.

    Variables (owner None here) are frozen into constants; the resource inputs that
    survive freezing (hash tables) must be recreated in TF.js, so we need the object
    that knows how to create and fill them.
    """
    captured = list(function.captured_inputs)
    offset = len(function.inputs) - len(captured)  # captured inputs follow the user's inputs
    wanted = [(function.inputs[offset + i].name, t) for i, t in enumerate(captured) if t.dtype == tf.resource]
    if not wanted:
        return ()
    owners: dict[int, Any] = {}
    for obj in TrackableView(root).descendants():
        if isinstance(obj, TrackableResource):
            owners[obj.resource_handle._id] = obj  # noqa: SLF001  (the only stable link)
    return tuple((name, owners.get(t._id)) for name, t in wanted)  # noqa: SLF001


def make_initializer(model: ModelConfig, resources: tuple[Any, ...]) -> Any:
    """A function that creates fresh copies of ``resources``, fills them, and returns their handles.

    A restored resource's ``_initialize`` captures the original handle; calling it
    with a new handle in that slot makes the initialisation part of this graph.
    """

    @tf.function(autograph=False)
    def initialize() -> list[Any]:
        handles = []
        for resource in resources:
            handle = resource._create_resource()  # noqa: SLF001
            if hasattr(resource._initialize, "get_concrete_function"):  # noqa: SLF001
                _call_restored_initializer(model, resource, handle)
            else:
                _call_python_initializer(resource, handle)
            handles.append(handle)
        return handles

    return initialize.get_concrete_function()


def _call_restored_initializer(model: ModelConfig, resource: Any, handle: Any) -> None:
    init = resource._initialize.get_concrete_function()  # noqa: SLF001
    original = resource.resource_handle._id  # noqa: SLF001
    captures = [handle if c._id == original else c for c in init.captured_inputs]  # noqa: SLF001
    if not any(c is handle for c in captures):
        raise UnsupportedModelError(
            f"{model.where('source')}: cannot rebuild the initialiser of {type(resource).__name__}; "
            "only resources whose initialiser captures their own handle are supported"
        )
    init._call_flat([], captures)  # noqa: SLF001


def _call_python_initializer(resource: Any, handle: Any) -> None:
    """An in-memory resource initialises ``self.resource_handle``: point it at ``handle`` meanwhile."""
    original = resource._resource_handle  # noqa: SLF001
    resource._resource_handle = handle  # noqa: SLF001
    try:
        resource._initialize()  # noqa: SLF001
    finally:
        resource._resource_handle = original  # noqa: SLF001
