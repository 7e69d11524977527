"""Keras layers tfjs-layers lacks, rewritten as layers it has that compute the same.

- ``Normalization``: ``Rescaling(offset=-mean)`` -> ``Rescaling(scale=1/std)`` (see ``normalization``).
- ``hard_silu``/``hard_swish`` (x * relu6(x + 3) / 6) and Keras 3's ``hard_sigmoid``
  (relu6(x + 3) / 6, not tfjs' clip(0.2x + 0.5)) as a layer's own output activation:
  ``Rescaling(offset=3)`` -> ``ReLU(max_value=6)`` -> ``Rescaling(scale=1/6)`` (->
  ``Multiply`` with x). Equal up to the rounding of x * (1/6) against x / 6, and it trains:
  every one of these layers has gradients in tfjs-layers. Inside a recurrent cell or a
  wrapper there is no layer to insert, so it is refused there.
- ``GlobalAverage/MaxPooling(keepdims=True)``: the pooling, then ``Reshape`` to keep the axes
  (in Keras 3 functional models only: their configs record the input shape that Reshape needs).
- Keras 3 op layers ``x + c``, ``x - c``, ``c - x``, ``x * c`` (float tensor x, number c):
  ``Rescaling``, which computes ``x * scale + offset`` exactly so when one of them is 1 or 0.

A rewritten layer keeps its name (its weights are looked up by it); added layers get unused
names. When the activation of a layer with weights is rewritten, later references to that
layer are pointed at the end of the added chain. A Sequential model that needs added
layers becomes a functional one (a Multiply has two inputs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tfjs_build.convert.layers import support as S
from tfjs_build.convert.layers.normalization import normalization_entry, with_center
from tfjs_build.convert.layers.options import HARD_ACTIVATIONS, Context, is_custom, kind, show

POOLING_KEEPDIMS = frozenset({"GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling2D",
                              "GlobalMaxPooling2D"})
OP_MODULE = "keras.src.ops.numpy"
SCALAR_OPS = frozenset({"Add", "Subtract", "Multiply"})
KERAS_TENSOR = "__keras_tensor__"

Layer = dict[str, Any]  # a translated layer: {class_name, config, name, inbound_nodes}


@dataclass(frozen=True)
class Rewrite:
    """What a translated layer still needs: ``hard_silu``, ``hard_sigmoid``, ``normalization`` (its mean
    subtracted first) or ``keepdims`` (with the shape to restore: tfjs' Reshape cannot infer a -1 while the
    batch size is unknown)."""

    kind: str
    target_shape: tuple[int, ...] = ()


def hard_activation(value: Any, ctx: Context) -> bool | None:
    """For an activation tfjs-build rewrites: whether it multiplies by x; None for any other."""
    name = kind(value)[0] if value is not None and not is_custom(value) else None
    if name is None or (name == "hard_sigmoid" and not ctx.keras3):  # Keras 2's is tfjs' own hard_sigmoid
        return None
    return HARD_ACTIVATIONS.get(name)


def prepare(entry: dict[str, Any], ctx: Context, path: str) -> tuple[dict[str, Any], Rewrite | None]:
    """A model's layer entry made translatable, and the rewrite it needs once translated (None: none)."""
    if (rescaling := scalar_op(entry, ctx, path)) is not None:
        return rescaling, None
    cls, config = entry.get("class_name"), entry.get("config") or {}
    if cls == "Normalization":
        return normalization_entry(entry, ctx, path), None if config.get("invert") else Rewrite("normalization")
    if cls in S.RNN_CLASSES:
        return entry, None
    multiply = hard_activation(config.get("activation"), ctx)
    if multiply is not None:
        rewrite = Rewrite("hard_silu" if multiply else "hard_sigmoid")
        return {**entry, "config": {**config, "activation": "linear"}}, rewrite
    if cls in POOLING_KEEPDIMS and config.get("keepdims") is True and (shape := _kept_shape(entry)):
        return {**entry, "config": {**config, "keepdims": False}}, Rewrite("keepdims", shape)
    return entry, None


def _kept_shape(entry: dict[str, Any]) -> tuple[int, ...]:
    """The pooled shape without the batch axis, from the input shapes Keras 3 records with each call of a
    functional model's layer (empty when unknown, as in Sequential and Keras 2 configs: then the layer is
    refused as before)."""
    shapes = {tuple(arg["config"].get("shape") or ()) for node in entry.get("inbound_nodes", [])
              if isinstance(node, dict) for arg in node.get("args", []) if _is_tensor(arg)}
    if len(shapes) != 1:
        return ()
    shape = shapes.pop()
    first = (entry.get("config") or {}).get("data_format") == "channels_first"
    channels = shape[1] if first else shape[-1]
    if len(shape) < 3 or not isinstance(channels, int):
        return ()
    kept = [1] * (len(shape) - 2)
    return tuple([channels, *kept] if first else [*kept, channels])


def expand(layer: Layer, rewrite: Rewrite, ctx: Context) -> tuple[list[Layer], str | None]:
    """The layers replacing ``layer`` and the name later references must use instead of its own (or None)."""
    name, calls, names = layer["name"], layer["inbound_nodes"], ctx.names
    if rewrite.kind == "normalization":
        center = _fresh(f"{name}_center", names)
        with_center(ctx, name, center)
        return [_layer("Rescaling", center, calls, scale=1.0, offset=None),
                {**layer, "inbound_nodes": [[[center, k, 0, {}]] for k in range(len(calls))]}], None
    if rewrite.kind == "keepdims":
        pool = _renamed(layer, _fresh(f"{name}_pool", names))
        return [pool, _layer("Reshape", name, [[[pool["name"], k, 0, {}]] for k in range(len(calls))],
                             target_shape=list(rewrite.target_shape))], None
    multiply = rewrite.kind == "hard_silu"
    if layer["class_name"] == "Activation":  # the chain replaces the layer and takes its name
        return _activation_chain(name, [node[0] for node in calls], multiply, name, names), None
    inputs = [[name, k, 0, {}] for k in range(len(calls))]
    out = _fresh(f"{name}_{rewrite.kind}", names)
    return [layer, *_activation_chain(name, inputs, multiply, out, names)], out


def _activation_chain(base: str, inputs: list[list[Any]], multiply: bool, out: str, names: set[str]) -> list[Layer]:
    """relu6(x + 3) / 6 (times x) for each call's input ``inputs[k]``; the last layer is named ``out``."""
    plus3, relu6 = _fresh(f"{base}_plus3", names), _fresh(f"{base}_relu6", names)
    div6 = _fresh(f"{base}_div6", names) if multiply else out
    chain = [
        _layer("Rescaling", plus3, [[list(ref)] for ref in inputs], scale=1.0, offset=3.0),
        _layer("ReLU", relu6, _calls(plus3, inputs), max_value=6.0),
        _layer("Rescaling", div6, _calls(relu6, inputs), scale=1.0 / 6.0, offset=0.0),
    ]
    if multiply:
        chain.append(_layer("Multiply", out, [[list(ref), [div6, k, 0, {}]] for k, ref in enumerate(inputs)]))
    return chain


def _calls(source: str, inputs: list[list[Any]]) -> list[list[list[Any]]]:
    return [[[source, k, 0, {}]] for k in range(len(inputs))]


def apply(layers: list[tuple[Layer, Rewrite | None]], outputs: list[list[Any]], ctx: Context) -> list[Layer]:
    """Expand every layer that needs it; point references to a rewritten layer at its chain's end."""
    result: list[Layer] = []
    aliases: dict[str, str] = {}
    owner: dict[str, str] = {}  # added layer -> the layer whose output it reads (keeps reading it)
    for layer, rewrite in layers:
        added, alias = expand(layer, rewrite, ctx) if rewrite else ([layer], None)
        result += added
        if alias is not None:
            aliases[layer["name"]] = alias
            owner.update((extra["name"], layer["name"]) for extra in added[1:])
    for layer in result:
        for node in layer["inbound_nodes"]:
            for ref in node:
                if ref[0] in aliases and owner.get(layer["name"]) != ref[0]:
                    ref[0] = aliases[ref[0]]
    for ref in outputs:
        ref[0] = aliases.get(ref[0], ref[0])
    return result


def as_functional(name: str, layers: list[Layer], names: set[str]) -> dict[str, Any]:
    """A translated Sequential's layers as a functional model config: each layer calls the one before."""
    first = layers[0]
    if first["class_name"] != "InputLayer":
        shape = first["config"].pop("batch_input_shape")
        first["config"].pop("batch_size", None)
        dtype = first["config"].get("dtype", "float32")
        first = {"class_name": "InputLayer", "config": {"batch_input_shape": shape, "dtype": dtype,
                                                        "sparse": False, "name": _fresh(f"{name}_input", names)}}
        layers = [first, *layers]
    chained = [{**first, "name": first["config"]["name"], "inbound_nodes": []}]
    for layer in layers[1:]:
        previous = chained[-1]
        chained.append({**layer, "name": layer["config"]["name"], "inbound_nodes": [[_output_of(previous) + [{}]]]})
    return {"name": name, "layers": chained, "input_layers": [_output_of(chained[0])],
            "output_layers": [_output_of(chained[-1])]}


def _output_of(layer: Layer) -> list[Any]:
    """The first call's output: node 1 for a nested model (tfjs gives a model node 0 of its own)."""
    return [layer["name"], 1 if layer["class_name"] in S.MODEL_CLASSES else 0, 0]


def scalar_op(entry: dict[str, Any], ctx: Context, path: str) -> dict[str, Any] | None:
    """A Keras 3 op layer ``x + c``, ``x - c``, ``c - x`` or ``x * c`` as a Rescaling entry; None for others."""
    if entry.get("module") != OP_MODULE or entry.get("class_name") not in SCALAR_OPS:
        return None
    cls = str(entry["class_name"])
    affine, tensors = set(), []
    for node in entry.get("inbound_nodes", []):
        args = node.get("args", []) if isinstance(node, dict) else []
        if not isinstance(node, dict) or node.get("kwargs") or len(args) != 2 or sum(map(_is_tensor, args)) != 1 \
                or not all(_is_tensor(a) or _is_number(a) for a in args):
            return None
        tensor, number = (args[0], args[1]) if _is_tensor(args[0]) else (args[1], args[0])
        if tensor["config"].get("dtype") != "float32":
            ctx.fail(path, f"{cls} op", f"applies to a {tensor['config'].get('dtype')} tensor, and tfjs-build "
                     "rewrites only float32 ones (as a Rescaling layer)", S.GRAPH_HINT)
        affine.add(_affine(cls, float(number), tensor is args[0]))
        tensors.append(tensor)
    if len(affine) != 1:
        return None
    scale, offset = affine.pop()
    name = entry["config"]["name"]
    return {"module": "keras.layers", "class_name": "Rescaling", "registered_name": None,
            "config": {"name": name, "trainable": True, "dtype": "float32", "scale": scale, "offset": offset},
            "name": name, "inbound_nodes": [{"args": [tensor], "kwargs": {}} for tensor in tensors]}


def _affine(cls: str, number: float, tensor_first: bool) -> tuple[float, float]:
    """(scale, offset) with x * scale + offset equal to the op, bit for bit."""
    if cls == "Multiply":
        return number, 0.0
    if cls == "Add":
        return 1.0, number
    return (1.0, -number) if tensor_first else (-1.0, number)


def op_refusal(entry: dict[str, Any]) -> str | None:
    """Why a Keras 3 op layer (``x + y``, ``ops.mean(x)`` in a functional model) cannot be a tfjs layer."""
    if not str(entry.get("module") or "").startswith("keras.src.ops"):
        return None
    return (f"is the Keras op {entry.get('class_name')} applied to tensors in the functional model, which has no "
            "tfjs-layers class (tfjs-build rewrites only a float32 tensor plus, minus or times a number, "
            f"as a Rescaling layer; this call is {show(_args(entry))})")


def _args(entry: dict[str, Any]) -> list[Any]:
    nodes = entry.get("inbound_nodes") or [{}]
    node = nodes[0] if isinstance(nodes[0], dict) else {}
    return ["tensor" if _is_tensor(a) else a for a in node.get("args", [])]


def _is_tensor(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == KERAS_TENSOR


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fresh(base: str, names: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3``... whichever no layer of the model has; reserved at once."""
    name, number = base, 1
    while name in names:
        number += 1
        name = f"{base}_{number}"
    names.add(name)
    return name


def _renamed(layer: Layer, name: str) -> Layer:
    return {**layer, "name": name, "config": {**layer["config"], "name": name}}


def _layer(cls: str, name: str, calls: list[list[list[Any]]], **options: Any) -> Layer:
    config = {"name": name, "trainable": True, "dtype": "float32", **options}
    return {"class_name": cls, "config": config, "name": name, "inbound_nodes": calls}
