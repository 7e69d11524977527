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

import json
import re
from dataclasses import dataclass
from typing import Any, NoReturn

from tfjs_build.convert.layers import support as S
from tfjs_build.errors import UnsupportedModelError

# tfjs-layers' isValidTensorName: layer names become variable and tensor names.
TENSOR_NAME = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9._/]*$")
KERAS_TENSOR = "__keras_tensor__"
BIDIRECTIONAL_PREFIX = "forward_"


@dataclass(frozen=True)
class Context:
    """Where messages point (``model.where("source")``), which Keras wrote the config, and the
    TF.js backends the model must run on (``backends:``, located by ``backends_where``)."""

    where: str
    keras3: bool
    backends: tuple[str, ...] = ()
    backends_where: str = "backends"

    def fail(self, path: str, cls: str, what: str, hint: str = S.GRAPH_HINT) -> NoReturn:
        raise UnsupportedModelError(
            f"{self.where}: layer {path!r} ({cls}): {what}; so tfjs-layers {S.TFJS_VERSION} cannot run it "
            f"as a layers model. Fix: {hint}"
        )


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
    return _translate_object(obj, ctx, None)


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
        return {"class_name": "Sequential", "config": _sequential(config, obj, ctx, path, inner)}
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
    return {"class_name": cls, "config": _layer_config(str(cls), rule, config, ctx, path)}


def _unknown_class(obj: dict[str, Any], ctx: Context, path: str) -> NoReturn:
    cls = str(obj.get("class_name"))
    module = str(obj.get("module") or "")
    registered = obj.get("registered_name") or (cls if ">" in cls else None)  # .h5 writes "package>Class"
    cls = cls.rpartition(">")[2]
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
                out["dtype"] = _dtype(value, ctx, path, cls, allow_int=cls == "InputLayer")
        elif target in S.BASE_KEYS or target in rule.keys:
            if target in rule.allowed and not any(_same(value, ok) for ok in rule.allowed[target]):
                allowed = " or ".join(_show(v) for v in rule.allowed[target])
                ctx.fail(path, cls, f"option {key}={_show(value)} is not supported (tfjs-layers only "
                         f"implements {key}={allowed})", f"build the layer with {key}={allowed} and retrain, "
                         f"or {S.GRAPH_HINT}")
            out[target] = _option(cls, target, value, ctx, path)
        elif key in fixed:
            if not any(_same(value, ok) for ok in fixed[key]):
                allowed = " or ".join(_show(v) for v in fixed[key])
                ctx.fail(path, cls, f"option {key}={_show(value)} is not supported (tfjs-layers only "
                         f"computes {key}={allowed})", f"build the layer with {key}={allowed} and retrain, "
                         f"or {S.GRAPH_HINT}")
        elif key not in rule.ignored and key not in S.ENVELOPE_KEYS:
            ctx.fail(path, cls, f"option {key}={_show(value)} is not supported (tfjs-layers "
                     f"{S.TFJS_VERSION} has no such {cls} option)")
    if cls == "BatchNormalization" and isinstance(out.get("axis"), list):  # Keras 2 writes [axis]
        if len(out["axis"]) != 1:
            ctx.fail(path, cls, f"option axis={_show(out['axis'])} is not supported (tfjs-layers normalizes "
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
        return _activation(value, ctx, path, cls, key)
    if key in S.INITIALIZER_KEYS:
        return _initializer(value, ctx, path, cls, key)
    if key.endswith("_regularizer"):
        return _regularizer(value, ctx, path, cls, key)
    if key.endswith("_constraint"):
        return _constraint(value, ctx, path, cls, key)
    if key == "layer":
        return _wrapped(cls, value, ctx, path)
    return value


def _wrapped(cls: str, value: dict[str, Any], ctx: Context, path: str) -> dict[str, Any]:
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


# ---------------------------------------------------------------- option objects


def _kind(value: Any) -> tuple[str, dict[str, Any]]:
    """(class name, config) of a serialized object; a bare string is (name, {})."""
    if isinstance(value, str):
        return value, {}
    if isinstance(value, dict) and "class_name" in value:
        config = value.get("config")
        if value.get("class_name") == "function" and isinstance(config, str):
            return config, {}  # Keras 3's form of a function reference
        return str(value["class_name"]), config if isinstance(config, dict) else {}
    return repr(value), {}


def _is_custom(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    module = str(value.get("module") or "keras")
    return value.get("registered_name") not in (None, "function") or not module.startswith("keras")


def _activation(value: Any, ctx: Context, path: str, cls: str, key: str) -> str:
    name, _ = _kind(value)
    known = dict(S.ACTIVATIONS) if ctx.keras3 else {**S.ACTIVATIONS, **S.KERAS2_ONLY_ACTIVATIONS}
    if _is_custom(value) or name not in known:
        what = "custom activation" if _is_custom(value) else "activation"
        extra = " (Keras 3's hard_sigmoid is relu6(x+3)/6, TF.js's is clip(0.2x+0.5))" if name == "hard_sigmoid" else ""
        ctx.fail(path, cls, f"option {key}: {what} {name!r} is not one tfjs-layers has{extra}; "
                 f"supported: {', '.join(sorted(known))}")
    return known[name]


def _initializer(value: Any, ctx: Context, path: str, cls: str, key: str) -> dict[str, Any]:
    name, config = _kind(value)
    name = S.INITIALIZER_NAMES.get(name, name)
    if _is_custom(value) or name not in S.INITIALIZERS:
        ctx.fail(path, cls, f"option {key}: initializer {name!r} is not one tfjs-layers has; "
                 f"supported: {', '.join(sorted(set(v[0] for v in S.INITIALIZERS.values())))}",
                 "use a built-in initializer (the weights are loaded anyway, so any built-in one works)")
    target, keys = S.INITIALIZERS[name]
    return {"class_name": target, "config": {k: v for k, v in config.items() if k in keys}}


def _regularizer(value: Any, ctx: Context, path: str, cls: str, key: str) -> dict[str, Any]:
    name, config = _kind(value)
    name = S.REGULARIZER_NAMES.get(name, name)
    if _is_custom(value) or name not in S.REGULARIZERS:
        ctx.fail(path, cls, f"option {key}: regularizer {name!r} is not one tfjs-layers has (only L1, L2, L1L2)",
                 "remove the regularizer (it only matters for training) or use L1/L2")
    amounts = {part: float(config.get(part, 0.0) or 0.0) for part in S.REGULARIZERS[name]}
    return {"class_name": "L1L2", "config": {"l1": amounts.get("l1", 0.0), "l2": amounts.get("l2", 0.0)}}


def _constraint(value: Any, ctx: Context, path: str, cls: str, key: str) -> dict[str, Any]:
    name, config = _kind(value)
    name = S.CONSTRAINT_NAMES.get(name, name)
    if _is_custom(value) or name not in S.CONSTRAINTS:
        ctx.fail(path, cls, f"option {key}: constraint {name!r} is not one tfjs-layers has; "
                 f"supported: {', '.join(sorted(S.CONSTRAINTS))}",
                 "remove the constraint (it only matters for training) or use a built-in one")
    return {"class_name": name, "config": {k: v for k, v in config.items() if k in S.CONSTRAINTS[name]}}


def _dtype(value: Any, ctx: Context, path: str, cls: str, allow_int: bool) -> str:
    name, config = _kind(value)
    if isinstance(value, dict):
        name = str(config.get("name", name))
    mapped = S.DTYPES.get(name)
    if mapped is None or (not allow_int and mapped != "float32"):
        ctx.fail(path, cls, f"dtype {name!r} is not supported (TF.js layers compute in float32)",
                 "save the model with the float32 dtype policy (keras.config.set_dtype_policy('float32'))")
    return mapped


def _same(value: Any, allowed: Any) -> bool:
    numbers = (int, float)
    if isinstance(value, bool) or isinstance(allowed, bool):
        return value is allowed
    if isinstance(value, numbers) and isinstance(allowed, numbers):
        return value == allowed
    return type(value) is type(allowed) and value == allowed


def _show(value: Any) -> str:
    """A config value as it reads in JSON (null, true, "same", [1, 1])."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


# ---------------------------------------------------------------- models


def _functional(config: dict[str, Any], ctx: Context, path: str) -> dict[str, Any]:
    layers = []
    for entry in config.get("layers", []):
        translated = _translate_object(entry, ctx, path)
        layer_path = f"{path}/{translated['config'].get('name')}" if path else translated["config"]["name"]
        layers.append({
            "class_name": translated["class_name"],
            "config": translated["config"],
            "name": translated["config"]["name"],
            "inbound_nodes": [_node(node, ctx, layer_path, translated["class_name"])
                              for node in entry.get("inbound_nodes", [])],
        })
    result = {
        "name": config.get("name"),
        "layers": layers,
        "input_layers": _tensor_refs(config.get("input_layers")),
        "output_layers": _tensor_refs(config.get("output_layers")),
    }
    if ctx.keras3:
        _count_model_self_nodes(result)
    return result


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
    layers = [_translate_object(entry, ctx, inner) for entry in config.get("layers", [])]
    first = layers[0] if layers else None
    if first is None or (first["class_name"] != "InputLayer" and "batch_input_shape" not in first["config"]):
        shape = (obj.get("build_config") or {}).get("input_shape")
        if shape is None:
            ctx.fail(path, "Sequential", "the model was never built, so its input shape is unknown",
                     "build it (keras.Input(shape) as first layer, or call it once) before saving")
        layers.insert(0, {"class_name": "InputLayer", "config": {
            "batch_input_shape": shape, "dtype": "float32", "sparse": False, "name": f"{config.get('name')}_input"}})
    return {"name": config.get("name"), "layers": layers}


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
        ctx.fail(path, cls, f"is called with a non-tensor argument {_show(value)}",
                 "pass only tensors positionally (set options in the layer's constructor)")


def _kwargs(kwargs: dict[str, Any], ctx: Context, path: str, cls: str) -> dict[str, Any]:
    for key, value in kwargs.items():
        if value is None:
            continue
        if key == "training" and value is False:
            continue
        shown = "a tensor" if KERAS_TENSOR in _show(value) else _show(value)
        ctx.fail(path, cls, f"is called with {key}={shown}, "
                 "which tfjs-layers' model config cannot express",
                 f"call the layer with its inputs only, or {S.GRAPH_HINT}")
    return {}
