"""The input a benchmark feeds a built model: the first accuracy sample, as ``verify`` and the accuracy gate use.

``verify`` learns the input signature from TensorFlow; a benchmark needs no TensorFlow, so the
signature is read from the built model.json instead (a graph model's ``signature``, a layers
model's InputLayers) and handed to the same ``checks.accuracy.sample_inputs``: the rows of
``accuracy.inputs`` when given, else seeded values from the signature.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tfjs_build.checks.accuracy import InputSpec, sample_inputs
from tfjs_build.config import ModelConfig
from tfjs_build.errors import TfjsBuildError

# GraphDef dtype names -> numpy names (the dtypes a model input can have in TF.js, and their wider kin).
_DTYPES = {"DT_FLOAT": "float32", "DT_HALF": "float16", "DT_DOUBLE": "float64", "DT_INT32": "int32",
           "DT_INT64": "int64", "DT_INT16": "int16", "DT_INT8": "int8", "DT_UINT8": "uint8",
           "DT_UINT16": "uint16", "DT_BOOL": "bool", "DT_STRING": "string"}


def bench_inputs(model: ModelConfig, model_dir: Path) -> dict[str, np.ndarray]:
    """One input per model input, keyed as the TF.js runner keys them."""
    path = model_dir / "model.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        specs = layers_input_specs(data) if model.format == "layers" else graph_input_specs(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TfjsBuildError(f"{path}: cannot read the model's inputs ({exc}); rebuild it with "
                             f"`tfjs-build build {model.name} --force`") from None
    return sample_inputs(specs, 1, npz=model.accuracy.inputs, where=model.where("accuracy.inputs"))[0]


def graph_input_specs(model_json: dict[str, Any]) -> list[InputSpec]:
    """(signature key, dtype, dims) of a graph model's inputs; resource handles are not user inputs."""
    inputs = model_json["signature"]["inputs"]
    return [(key, _DTYPES[info["dtype"]], _dims(info.get("tensorShape", {})))
            for key, info in inputs.items() if "resourceId" not in info]


def _dims(shape: dict[str, Any]) -> list[int | None]:
    return [None if int(d.get("size", -1)) < 0 else int(d["size"]) for d in shape.get("dim", [])]


def layers_input_specs(model_json: dict[str, Any]) -> list[InputSpec]:
    """(input name, dtype, dims) of a layers model, in the order of its inputs. A Sequential model whose first
    layer is not an InputLayer gets one from TF.js, named after that layer + ``_input``."""
    config = model_json["modelTopology"]["model_config"]["config"]
    layers = config["layers"] if isinstance(config, dict) else config  # old Sequential configs are a bare list
    if isinstance(config, dict) and "input_layers" in config:
        by_name = {layer["config"]["name"]: layer["config"] for layer in layers}
        return [_input_spec(name, by_name[name]) for name, *_ in config["input_layers"]]
    first = layers[0]
    suffix = "" if first["class_name"] == "InputLayer" else "_input"
    return [_input_spec(first["config"]["name"] + suffix, first["config"])]


def _input_spec(name: str, layer: dict[str, Any]) -> InputSpec:
    shape = layer.get("batch_input_shape") or layer["batch_shape"]
    return name, layer.get("dtype") or "float32", list(shape)
