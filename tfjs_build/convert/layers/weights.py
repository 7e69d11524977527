"""Weight values of a Keras model under the names tfjs-layers gives its variables.

tfjs-layers names a variable ``<layer>/<weight>`` inside the name scope in which it is
built (tfjs-layers/src/common.ts, engine/topology.ts): a layer of a nested model is built
when that model is deserialized, outside any scope, so it keeps its bare ``dense/kernel``;
an RNN builds its cell in its own scope (``lstm/kernel``, no ``lstm_cell``); Bidirectional
builds ``<name>/forward_<inner>/kernel`` and ``<name>/backward_<inner>/kernel``;
TimeDistributed builds its inner layer directly (``time_distributed/kernel``). A Normalization
layer has no tfjs weights: its statistics go into the model config (``normalization``).

Keras 3 files are loaded with Keras (weights have no names in ``.keras`` archives, only
indices). Keras 2 ``.h5`` files are read with h5py: Keras 3 cannot load every Keras 2
layer config (e.g. LSTM ``time_major``), and the file already lists each layer's weights
in order under ``model_weights/<layer>``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from tfjs_build.convert.layers import support as S
from tfjs_build.convert.layers.translate import bidirectional_inner_name
from tfjs_build.errors import SourceError, UnsupportedModelError


@dataclass(frozen=True)
class NamedWeight:
    name: str  # as tfjs-layers looks it up
    value: np.ndarray
    layer: str  # the layer holding it: one weight group per layer
    trainable: bool  # as tfjs-layers sees it (layer and all enclosing models trainable, and a trainable weight)
    variable: Any = None  # the Keras 3 variable (for the accuracy gate), None for Keras 2 files


def tfjs_order(weights: list[NamedWeight]) -> list[NamedWeight]:
    """The order of tfjs ``model.weights`` (what ``model.save`` writes): every trainable weight
    in layer order, then every non-trainable one (tfjs-layers engine/container.ts)."""
    return sorted(weights, key=lambda weight: not weight.trainable)


def keras3_weights(model: Any) -> list[NamedWeight]:
    """Walk a loaded Keras 3 model in layer order."""
    return list(_walk_keras3(model, True))


def _walk_keras3(layer: Any, trainable: bool) -> Iterator[NamedWeight]:
    cls = type(layer).__name__
    trainable = trainable and bool(layer.trainable)
    if cls in S.MODEL_CLASSES:
        for sub in layer.layers:
            yield from _walk_keras3(sub, trainable)
    elif cls == "Bidirectional":
        inner = bidirectional_inner_name(layer.forward_layer.name)
        for side, sub in (("forward", layer.forward_layer), ("backward", layer.backward_layer)):
            for variable in sub.weights:
                yield _named(f"{layer.name}/{side}_{inner}", type(sub).__name__, variable, layer.name, trainable)
    elif cls == "Normalization":
        return  # its statistics become Rescaling options (normalization.keras3_statistics)
    elif cls == "TimeDistributed":
        for variable in layer.layer.weights:
            yield _named(layer.name, type(layer.layer).__name__, variable, layer.name, trainable)
    else:
        for variable in layer.weights:
            yield _named(layer.name, cls, variable, layer.name, trainable)


def _named(scope: str, cls: str, variable: Any, layer: str, trainable: bool) -> NamedWeight:
    rule = S.LAYERS.get(cls)
    local = rule.weights.get(variable.name, variable.name) if rule else variable.name
    return NamedWeight(f"{scope}/{local}", np.asarray(variable.numpy()), layer,
                       trainable and bool(variable.trainable), variable)


def keras2_h5_weights(path: Path, topology: dict[str, Any], where: str) -> list[NamedWeight]:
    """Read ``model_weights`` of a Keras 2 .h5 file; ``topology`` is the translated config."""
    classes = _layer_classes(topology["config"])
    trainable_model = topology["config"].get("trainable", True) is not False
    weights: list[NamedWeight] = []
    try:
        with h5py.File(path, "r") as handle:
            root = handle["model_weights"] if "model_weights" in handle else handle
            for layer_name in _names(root.attrs.get("layer_names", [])):
                group = root[layer_name]
                for weight_name in _names(group.attrs.get("weight_names", [])):
                    tokens = weight_name.split(":")[0].split("/")
                    name, trainable = _keras2_name(tokens, layer_name, classes.get(layer_name), where)
                    weights.append(NamedWeight(name, np.asarray(group[weight_name][()]), name.split("/")[0],
                                               trainable and trainable_model))
    except (OSError, KeyError) as exc:
        raise SourceError(f"{where}: cannot read the weights of {path} ({exc}); save the model again") from None
    return weights


def split_statistics(weights: list[NamedWeight], layers: Collection[str]
                     ) -> tuple[list[NamedWeight], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The weights without those of the Keras 2 Normalization ``layers`` (mean, variance, count), and
    each one's stored mean and variance: they go into the model config, not into tfjs weights."""
    stored: dict[str, dict[str, np.ndarray]] = {}
    kept = []
    for weight in weights:
        if weight.layer in layers:
            stored.setdefault(weight.layer, {})[weight.name.rpartition("/")[2]] = weight.value
        else:
            kept.append(weight)
    statistics = {layer: (values["mean"], values["variance"]) for layer, values in stored.items()
                  if "mean" in values and "variance" in values}
    return kept, statistics


def _keras2_name(tokens: list[str], layer: str, entry: tuple[str, dict[str, Any]] | None, where: str
                 ) -> tuple[str, bool]:
    """tfjs name and trainability of a Keras 2 weight ``tokens`` stored under ``layer``."""
    if entry is None:
        raise UnsupportedModelError(f"{where}: weights stored for layer {layer!r}, which the model config "
                                    "does not have; save the model again with model.save(...)")
    cls, config = entry
    trainable = config.get("trainable", True) is not False
    if cls in S.MODEL_CLASSES:
        inner = _layer_classes(config)
        for index, token in enumerate(tokens):
            if token in inner:
                name, inner_trainable = _keras2_name(tokens[index:], token, inner[token], where)
                return name, trainable and inner_trainable
        raise UnsupportedModelError(f"{where}: weight {'/'.join(tokens)!r} of nested model {layer!r} names none "
                                    "of its layers; save the model again with model.save(...)")
    trainable = trainable and tokens[-1] not in S.NON_TRAINABLE_WEIGHTS
    if cls == "Bidirectional":
        return f"{layer}/{tokens[1]}/{tokens[-1]}", trainable
    rule = S.LAYERS.get(cls)
    return f"{layer}/{rule.weights.get(tokens[-1], tokens[-1]) if rule else tokens[-1]}", trainable


def _layer_classes(config: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {entry["config"]["name"]: (entry["class_name"], entry["config"]) for entry in config.get("layers", [])}


def _names(values: Any) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]
