"""Keras ``Normalization`` as tfjs-layers ``Rescaling`` layers with per-channel scale and offset.

tfjs-layers has no Normalization layer. Keras computes ``(x - mean) / std`` (``mean + x * std``
with ``invert=True``), ``std = max(sqrt(variance), eps)``, eps being ``keras.config.epsilon()``:
1e-7 unless changed before saving (the file does not record it). tfjs' Rescaling computes
``x * scale + offset`` and broadcasts an array scale or offset like a tensor, so
``Rescaling(offset=-mean)`` then ``Rescaling(scale=1/std)`` computes it: the subtraction
exactly, the division as a multiplication by the rounded reciprocal (at most 2 float32 ulps
apart); inverted, one ``Rescaling(scale=std, offset=mean)`` is exact. Unlike a
BatchNormalization in inference mode (which tfjs-layers' ``model.fit`` runs with batch
statistics), these compute the same while training, and have no weights to train.

Translation is pure JSON and leaves the values empty: they come from the loaded Keras 3 layer
(its broadcast statistics, any axes) or, for Keras 2 files, from the stored weights or the
config (values along the last axis, or one value). ``fill_normalizations`` writes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfjs_build.convert.layers.options import Context, show
from tfjs_build.errors import UnsupportedModelError

KERAS_EPSILON = np.float32(1e-7)
KEYS = frozenset({"name", "trainable", "dtype", "axis", "invert", "mean", "variance"})
PASSED = ("batch_input_shape", "batch_size")  # Keras 2 writes them; a Sequential's input shape may be there


@dataclass(frozen=True)
class NormalizationSpec:
    """A Normalization layer rewritten: its config's values (None when stored as weights), and the name
    of the Rescaling subtracting the mean (set when the layers are added; None when inverted)."""

    name: str
    invert: bool
    mean: Any
    variance: Any
    center: str | None = None


def normalization_entry(entry: dict[str, Any], ctx: Context, path: str) -> dict[str, Any]:
    """The raw Rescaling entry standing for a Normalization layer (values filled in later)."""
    config = entry.get("config") or {}
    for key, value in config.items():
        if key not in KEYS and key not in PASSED:
            ctx.fail(path, "Normalization", f"option {key}={show(value)} is not supported (tfjs-build knows no "
                     "such Normalization option)")
    axis, mean = config.get("axis", -1), config.get("mean")
    along_last = axis in (-1, [-1], None, []) or (isinstance(mean, (int, float)) and not isinstance(mean, bool))
    if not ctx.keras3 and not along_last:
        ctx.fail(path, "Normalization", f"option axis={show(axis)} is not supported in a Keras 2 file (it does not "
                 "record the input rank its statistics need)", "normalize along the last axis, or save the model "
                 "with Keras 3")
    name = str(config["name"])
    ctx.normalizations[name] = NormalizationSpec(name, bool(config.get("invert")), mean, config.get("variance"))
    rescaling = {"name": name, "trainable": config.get("trainable", True), "dtype": config.get("dtype"),
                 "scale": None, "offset": None if config.get("invert") else 0.0,
                 **{key: config[key] for key in PASSED if key in config}}
    return {**entry, "class_name": "Rescaling", "module": "keras.layers", "registered_name": None,
            "config": rescaling}


def keras3_statistics(model: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Mean and variance of every Normalization layer of a loaded Keras 3 model (nested ones too), each
    shaped to broadcast against an input without its batch axis."""
    return {layer.name: (_unbatched(layer.mean), _unbatched(layer.variance)) for layer in _layers(model)
            if type(layer).__name__ == "Normalization"}


def _layers(model: Any) -> Iterator[Any]:
    for layer in getattr(model, "layers", ()):
        yield layer
        yield from _layers(layer)


def _unbatched(value: Any) -> np.ndarray:
    array = np.asarray(value, np.float32)
    return array.reshape(array.shape[1:]) if array.ndim > 1 else array


def fill_normalizations(topology: dict[str, Any], ctx: Context,
                        statistics: dict[str, tuple[np.ndarray, np.ndarray]], where: str) -> None:
    """Write each rewritten Normalization's scale and offset into ``topology`` (in place)."""
    layers = dict(_topology_layers(topology))
    for name, spec in ctx.normalizations.items():
        mean, variance = statistics.get(name, (spec.mean, spec.variance))
        if mean is None or variance is None:
            raise UnsupportedModelError(f"{where}: Normalization layer {name!r} has no mean and variance (neither "
                                        "stored nor in its config): adapt() or build it before saving")
        mean32, variance32 = np.asarray(mean, np.float32), np.asarray(variance, np.float32)
        std = np.maximum(np.sqrt(variance32), KERAS_EPSILON)
        if spec.invert:
            layers[name]["scale"], layers[name]["offset"] = _json(std), _json(mean32)
        else:
            layers[str(spec.center)]["offset"] = _json(-mean32)
            layers[name]["scale"] = _json(np.float32(1.0) / std)


def _topology_layers(obj: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, config) of every layer in a translated topology, nested models included."""
    for layer in (obj.get("config") or {}).get("layers", []):
        yield layer["config"]["name"], layer["config"]
        yield from _topology_layers(layer)


def _json(array: np.ndarray) -> Any:
    """A number for one value, else nested lists (float32 values written exactly as doubles)."""
    return float(array.reshape(())) if array.size == 1 else array.astype(np.float32).tolist()


def with_center(ctx: Context, name: str, center: str) -> None:
    ctx.normalizations[name] = dataclasses.replace(ctx.normalizations[name], center=center)
