"""Keras 2 or Keras 3 model config -> the Keras-2-style JSON that tfjs-layers 4.22 reads.

Pure (JSON in, JSON out, no tensorflow). Every layer class, option and nested object is
checked against ``layers_support`` while translating, so an unsupported model fails here,
before anything is loaded or written, with a message naming the layer, its class and the
option. Keras 3 differences handled: InputLayer ``batch_shape`` -> ``batch_input_shape``,
DTypePolicy objects -> dtype strings, ``{module, class_name, config, registered_name}``
objects -> ``{class_name, config}``, call nodes ``{args, kwargs}`` -> Keras 2
``[[layer, node, tensor, kwargs], ...]``, L1/L2 -> L1L2, ``silu`` -> ``swish``.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

from tfjs_build.convert.layers import rewrites as R
from tfjs_build.convert.layers import support as S
from tfjs_build.convert.layers.options import (
    Context,
    activation_of,
    constraint_of,
    dtype_of,
    initializer_of,
    regularizer_of,
    same_value,
    show,
)

# tfjs-layers' isValidTensorName: layer names become variable and tensor names.
TENSOR_NAME = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9._/]*$")
KERAS_TENSOR = "__keras_tensor__"
BIDIRECTIONAL_PREFIX = "forward_"


def bidirectional_inner_name(name: str) -> str:
    """tfjs prefixes ``forward_``/``backward_`` itself; Keras 3 configs already carry it."""
    return name[len(BIDIRECTIONAL_PREFIX):] if name.startswith(BIDIRECTIONAL_PREFIX) else name


def translate_model(obj: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """The top-level ``{class_name, config}`` of a Functional or Sequential model."""
    cls = obj.get("class_name")
    if cls not in S.MODEL_CLASSES:
        ctx.fail(
            str(obj.get("config", {}).get("name", "?")), str(cls),
            "only Sequential and functional models can be layers models (this is a subclassed model "
            "or a bare layer)",
        )
    ctx.names.update(_layer_names(obj))
    return _translate_object(obj, ctx, None)


def _layer_names(value: Any) -> set[str]:
    """Every layer name anywhere in a model config (nested models and wrapped layers too)."""
    if isinstance(value, list):
        return set().union(*map(_layer_names, value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found = set().union(*map(_layer_names, value.values())) if value else set()
    config = value.get("config")
    if "class_name" in value and isinstance(config, dict) and isinstance(config.get("name"), str):
        found.add(config["name"])
    return found


def _translate_object(obj: dict[str, Any], ctx: Context, parent: str | None) -> dict[str, Any]:
    """``parent`` is the path of the enclosing nested model ("" at top level, None for the model itself)."""
    cls = obj.get("class_name")
    config = obj.get("config") or {}
    name = str(config.get("name", obj.get("name", "?")))
    path = f"{parent}/{name}" if parent else name
    inner = path if parent is not None else ""
    if not TENSOR_NAME.match(name):
        ctx.fail(path, str(cls), f"the name {name!r} is not a valid TF.js tensor name "
                 "(letters, digits, '-', '.', '_' only, not starting with '_' or '-')",
                 "rename the layer (name=...) in Keras and save the model again")
    if cls == "Sequential":
        return _sequential(config, obj, ctx, path, inner)
    if cls in ("Functional", "Model"):
        return {"class_name": "Functional", "config": _functional(config, ctx, inner)}
    rule = S.LAYERS.get(str(cls))
    if rule is None:
        _unknown_class(obj, ctx, path)
    broken = sorted(rule.broken_on.intersection(ctx.backends))
    if broken:
        ctx.fail(path, str(cls), f"TF.js {S.TFJS_VERSION}'s {' and '.join(broken)} backend computes {cls} wrongly "
                 f"(outputs differ from Keras)", f"remove {', '.join(broken)} from {ctx.backends_where}, or "
                 f"replace the layer")
    out = _layer_config(str(cls), rule, config, ctx, path)
    if cls == "BatchNormalization":
        _check_batch_norm_axis(obj, out.get("axis", -1), ctx, path)
    return {"class_name": cls, "config": out}


def _check_batch_norm_axis(obj: dict[str, Any], axis: Any, ctx: Context, path: str) -> None:
    """Refuse a BatchNormalization along any axis but the last for the backends computing it wrongly. The rank
    comes from the input shape Keras 3 records (``build_config``); Keras 2 configs do not record it."""
    shape = (obj.get("build_config") or {}).get("input_shape")
    broken = [backend for backend in S.BATCH_NORM_LAST_AXIS_ONLY if backend in ctx.backends]
    if not broken or not isinstance(shape, list) or not isinstance(axis, int) or axis % len(shape) == len(shape) - 1:
        return
    cls = str(obj.get("class_name"))
    ctx.fail(path, cls, f"normalizes along axis {axis} of a rank-{len(shape)} input, but TF.js {S.TFJS_VERSION}'s "
             f"{' and '.join(broken)} batchNorm kernels apply the statistics along the last axis only (outputs "
             "differ from Keras; webgl computes it right)", f"remove {', '.join(broken)} from {ctx.backends_where}, "
             "or normalize along the last axis (channels_last)")


def _unknown_class(obj: dict[str, Any], ctx: Context, path: str) -> NoReturn:
    cls = str(obj.get("class_name"))
    module = str(obj.get("module") or "")
    registered = obj.get("registered_name") or (cls if ">" in cls else None)  # .h5 writes "package>Class"
    cls = cls.rpartition(">")[2]
    if (op := R.op_refusal(obj)) is not None:
        ctx.fail(path, cls, op)
    if cls == "Lambda":
        ctx.fail(path, cls, "Lambda layers hold Python code, which TF.js cannot run",
                 f"replace the Lambda with built-in layers, or {S.GRAPH_HINT}")
    if registered or (module and not module.startswith("keras")):
        ctx.fail(path, cls, f"custom object {registered or cls!r} (from module {module or '?'!r}) "
                 "is not a built-in Keras layer",
                 f"rebuild the model from built-in Keras layers, or {S.GRAPH_HINT}")
    ctx.fail(path, cls, f"tfjs-layers has no {cls} layer")


def _layer_config(cls: str, rule: S.LayerRule, config: dict[str, Any], ctx: Context, path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fixed = {**S.COMMON_FIXED, **rule.fixed}
    for key, value in config.items():
        target = rule.renames.get(key, key)
        if cls == "InputLayer" and key in ("batch_shape", "batch_input_shape"):
            out["batch_input_shape"] = value
        elif key == "dtype":
            if value is not None:
                out["dtype"] = dtype_of(value, ctx, path, cls, allow_int=cls == "InputLayer")
        elif target in S.BASE_KEYS or target in rule.keys:
            if target in rule.allowed and not any(same_value(value, ok) for ok in rule.allowed[target]):
                allowed = " or ".join(show(v) for v in rule.allowed[target])
                why = rule.why.get(target, f"tfjs-layers only implements {key}={allowed}")
                ctx.fail(path, cls, f"option {key}={show(value)} is not supported ({why})",
                         f"build the layer with {key}={allowed} and retrain, or {S.GRAPH_HINT}")
            out[target] = _option(cls, target, value, ctx, path)
        elif key in fixed:
            if not any(same_value(value, ok) for ok in fixed[key]):
                allowed = " or ".join(show(v) for v in fixed[key])
                ctx.fail(path, cls, f"option {key}={show(value)} is not supported (tfjs-layers only "
                         f"computes {key}={allowed})", f"build the layer with {key}={allowed} and retrain, "
                         f"or {S.GRAPH_HINT}")
        elif key not in rule.ignored and key not in S.ENVELOPE_KEYS:
            ctx.fail(path, cls, f"option {key}={show(value)} is not supported (tfjs-layers "
                     f"{S.TFJS_VERSION} has no such {cls} option)")
    if cls == "BatchNormalization" and isinstance(out.get("axis"), list):  # Keras 2 writes [axis]
        if len(out["axis"]) != 1:
            ctx.fail(path, cls, f"option axis={show(out['axis'])} is not supported (tfjs-layers normalizes "
                     "over one axis)")
        out["axis"] = out["axis"][0]
    if cls == "Bidirectional" and config.get("backward_layer"):
        _check_backward(config["backward_layer"], out["layer"], ctx, path)
    if cls == "InputLayer":
        out.setdefault("sparse", False)
        if out.get("sparse"):
            ctx.fail(path, cls, "option sparse=true is not supported (TF.js has no sparse tensors)")
    return out


def _option(cls: str, key: str, value: Any, ctx: Context, path: str) -> Any:
    if value is None:
        return None
    if key in S.ACTIVATION_KEYS:
        return activation_of(value, ctx, path, cls, key)
    if key in S.INITIALIZER_KEYS:
        return initializer_of(value, ctx, path, cls, key)
    if key.endswith("_regularizer"):
        return regularizer_of(value, ctx, path, cls, key)
    if key.endswith("_constraint"):
        return constraint_of(value, ctx, path, cls, key)
    if key == "layer":
        return _wrapped(cls, value, ctx, path)
    return value


def _wrapped(cls: str, value: dict[str, Any], ctx: Context, path: str) -> dict[str, Any]:
    if value.get("class_name") == "Normalization":
        ctx.fail(path, cls, "wraps a Normalization, which tfjs-build rewrites (as a BatchNormalization) only "
                 "as a layer of its own", "apply the Normalization before the wrapper")
    inner = _translate_object(value, ctx, path)
    if cls == "Bidirectional":
        if inner["class_name"] not in S.RNN_CLASSES:
            ctx.fail(path, cls, f"wraps a {inner['class_name']}, but tfjs-layers' Bidirectional "
                     f"wraps only {', '.join(sorted(S.RNN_CLASSES))}")
        inner["config"]["name"] = bidirectional_inner_name(inner["config"]["name"])
    return inner


def _check_backward(backward: dict[str, Any], forward: dict[str, Any], ctx: Context, path: str) -> None:
    """tfjs-layers always mirrors the forward layer; a different ``backward_layer`` cannot load."""
    mirrored = _translate_object(backward, ctx, path)
    skip = ("name", "go_backwards")
    if {k: v for k, v in mirrored["config"].items() if k not in skip} != {
            k: v for k, v in forward["config"].items() if k not in skip} or mirrored["class_name"] != forward["class_name"]:
        ctx.fail(path, "Bidirectional", "its backward_layer differs from its forward layer, but tfjs-layers "
                 "always runs a mirrored copy of the forward layer backwards",
                 f"build Bidirectional(layer) without backward_layer, or {S.GRAPH_HINT}")


# ---------------------------------------------------------------- models


def _functional(config: dict[str, Any], ctx: Context, path: str) -> dict[str, Any]:
    layers, rewrites = [], []
    for entry in config.get("layers", []):
        layer_path = _layer_path(path, entry)
        entry, rewrite = R.prepare(entry, ctx, layer_path)
        rewrites.append(rewrite)
        translated = _translate_object(entry, ctx, path)
        layers.append({
            "class_name": translated["class_name"],
            "config": translated["config"],
            "name": translated["config"]["name"],
            "inbound_nodes": [_node(node, ctx, layer_path, translated["class_name"])
                              for node in entry.get("inbound_nodes", [])],
        })
    result: dict[str, Any] = {  # a Keras model config (JSON)
        "name": config.get("name"),
        "layers": layers,
        "input_layers": _tensor_refs(config.get("input_layers")),
        "output_layers": _tensor_refs(config.get("output_layers")),
    }
    if ctx.keras3:
        _count_model_self_nodes(result)
    result["layers"] = R.apply(list(zip(layers, rewrites, strict=True)), result["output_layers"], ctx)
    return result


def _layer_path(parent: str, entry: dict[str, Any]) -> str:
    name = str((entry.get("config") or {}).get("name", "?"))
    return f"{parent}/{name}" if parent else name


def _count_model_self_nodes(config: dict[str, Any]) -> None:
    """Shift references to calls of nested models by one (in place).

    A tfjs-layers (and Keras 2) model owns a node 0 linking its own inputs to its outputs,
    so its first call is node 1; Keras 3 models have no such node and number calls from 0.
    """
    models = {layer["name"] for layer in config["layers"] if layer["class_name"] in S.MODEL_CLASSES}
    refs = [ref for layer in config["layers"] for node in layer["inbound_nodes"] for ref in node]
    for ref in refs + config["input_layers"] + config["output_layers"]:
        if ref[0] in models:
            ref[1] += 1


def _sequential(config: dict[str, Any], obj: dict[str, Any], ctx: Context, path: str, inner: str
                ) -> dict[str, Any]:
    """A Sequential model; a functional one when a layer needs added layers (see ``rewrites``)."""
    prepared = [R.prepare(entry, ctx, _layer_path(inner, entry)) for entry in config.get("layers", [])]
    layers = [_translate_object(entry, ctx, inner) for entry, _ in prepared]
    rewrites = [rewrite for _, rewrite in prepared]
    first = layers[0] if layers else None
    if first is None or (first["class_name"] != "InputLayer" and "batch_input_shape" not in first["config"]):
        shape = (obj.get("build_config") or {}).get("input_shape")
        if shape is None:
            ctx.fail(path, "Sequential", "the model was never built, so its input shape is unknown",
                     "build it (keras.Input(shape) as first layer, or call it once) before saving")
        layers.insert(0, {"class_name": "InputLayer", "config": {
            "batch_input_shape": shape, "dtype": "float32", "sparse": False, "name": f"{config.get('name')}_input"}})
        rewrites.insert(0, None)
    if not any(rewrites):
        return {"class_name": "Sequential", "config": {"name": config.get("name"), "layers": layers}}
    functional = R.as_functional(str(config.get("name")), layers, ctx.names)
    added: list[R.Rewrite | None] = [None] * (len(functional["layers"]) - len(rewrites))
    rewrites = added + rewrites
    functional["layers"] = R.apply(list(zip(functional["layers"], rewrites, strict=True)),
                                   functional["output_layers"], ctx)
    return {"class_name": "Functional", "config": functional}


def _tensor_refs(value: Any) -> list[list[Any]]:
    """input_layers/output_layers: Keras 3 writes one ref flat, or a dict; tfjs wants a list."""
    if isinstance(value, dict):
        value = [value[key] for key in sorted(value)]
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = [value]
    return [list(ref[:3]) for ref in value or []]


def _node(node: Any, ctx: Context, path: str, cls: str) -> list[list[Any]]:
    """One call of a layer as Keras 2's ``[[layer, node_index, tensor_index, kwargs], ...]``."""
    if isinstance(node, list):  # already Keras 2
        return [[ref[0], ref[1], ref[2], _kwargs(ref[3] if len(ref) > 3 else {}, ctx, path, cls)] for ref in node]
    refs: list[list[Any]] = []
    _collect_tensors(node.get("args", []), refs, ctx, path, cls)
    kwargs = _kwargs(node.get("kwargs") or {}, ctx, path, cls)
    return [[*ref, kwargs] for ref in refs]


def _collect_tensors(value: Any, refs: list[list[Any]], ctx: Context, path: str, cls: str) -> None:
    if isinstance(value, dict) and value.get("class_name") == KERAS_TENSOR:
        history = value["config"]["keras_history"]
        refs.append([history[0], history[1], history[2]])
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect_tensors(item, refs, ctx, path, cls)
    elif value is not None:
        ctx.fail(path, cls, f"is called with a non-tensor argument {show(value)}",
                 "pass only tensors positionally (set options in the layer's constructor)")


def _kwargs(kwargs: dict[str, Any], ctx: Context, path: str, cls: str) -> dict[str, Any]:
    for key, value in kwargs.items():
        if value is None:
            continue
        if key == "training" and value is False:
            continue
        shown = "a tensor" if KERAS_TENSOR in show(value) else show(value)
        ctx.fail(path, cls, f"is called with {key}={shown}, "
                 "which tfjs-layers' model config cannot express",
                 f"call the layer with its inputs only, or {S.GRAPH_HINT}")
    return {}
