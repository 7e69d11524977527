"""Hand-written TF.js models (model.json + shard), so the harness is tested without TensorFlow.

Each writer lays out a model exactly as the format says: the GraphDef as protobuf JSON with
Const values removed, the values in one shard in manifest order, and a signature.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

DTYPES = {"float32": "DT_FLOAT", "int32": "DT_INT32", "int64": "DT_INT64", "bool": "DT_BOOL", "string": "DT_STRING"}


def _shape(dims: list[int]) -> dict[str, Any]:
    return {"dim": [{"size": str(d)} for d in dims]}


def placeholder(name: str, dtype: str, dims: list[int]) -> dict[str, Any]:
    attr = {"dtype": {"type": DTYPES[dtype]}, "shape": {"shape": _shape(dims)}}
    return {"name": name, "op": "Placeholder", "attr": attr}


def const(name: str, value: np.ndarray) -> dict[str, Any]:
    tensor = {"dtype": "DT_FLOAT", "tensorShape": _shape(list(value.shape))}
    return {"name": name, "op": "Const", "attr": {"dtype": {"type": "DT_FLOAT"}, "value": {"tensor": tensor}}}


def op(name: str, kind: str, inputs: list[str], **attr: Any) -> dict[str, Any]:
    return {"name": name, "op": kind, "input": inputs, "attr": attr}


def write_graph_model(
    out: Path,
    nodes: list[dict[str, Any]],
    weights: dict[str, np.ndarray],
    inputs: dict[str, tuple[str, str, list[int]]],
    outputs: dict[str, tuple[str, str]],
) -> Path:
    """``inputs``/``outputs`` map signature keys to (tensor name, dtype[, dims])."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "group1-shard1of1.bin").write_bytes(b"".join(v.astype("<f4").tobytes() for v in weights.values()))
    signature = {
        "inputs": {k: {"name": n, "dtype": DTYPES[d], "tensorShape": _shape(s)} for k, (n, d, s) in inputs.items()},
        "outputs": {k: {"name": n, "dtype": DTYPES[d]} for k, (n, d) in outputs.items()},
    }
    manifest = [{"name": k, "shape": list(v.shape), "dtype": "float32"} for k, v in weights.items()]
    model = {
        "format": "graph-model",
        "generatedBy": "hand",
        "convertedBy": "tests/tfjs/handmade.py",
        "signature": signature,
        "modelTopology": {"node": nodes, "library": {}, "versions": {"producer": 1700}},
        "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": manifest}],
    }
    (out / "model.json").write_text(json.dumps(model, indent=1))
    return out


def dense_graph_model(out: Path, kernel: np.ndarray, bias: np.ndarray) -> Path:
    """logits = features @ kernel + bias, as MatMul + BiasAdd + Identity."""
    t = {"T": {"type": "DT_FLOAT"}}
    nodes = [
        placeholder("x", "float32", [-1, kernel.shape[0]]),
        const("w", kernel),
        const("b", bias),
        op("MatMul", "MatMul", ["x", "w"], transpose_a={"b": False}, transpose_b={"b": False}, **t),
        op("BiasAdd", "BiasAdd", ["MatMul", "b"], data_format={"s": "TkhXQw=="}, **t),
        op("Identity", "Identity", ["BiasAdd"], **t),
    ]
    return write_graph_model(
        out,
        nodes,
        {"w": kernel, "b": bias},
        inputs={"features": ("x:0", "float32", [-1, kernel.shape[0]])},
        outputs={"logits": ("Identity:0", "float32")},
    )


def regex_graph_model(out: Path, *, pattern: str, rewrite: str) -> Path:
    """String in, strings out: StaticRegexReplace (global) and the untouched input."""
    nodes = [
        placeholder("text", "string", [-1, -1]),
        op("Replace", "StaticRegexReplace", ["text"], pattern={"s": _b64(pattern)}, rewrite={"s": _b64(rewrite)},
           replace_global={"b": True}),
        op("Same", "Identity", ["text"], T={"type": "DT_STRING"}),
    ]
    return write_graph_model(
        out, nodes, {}, inputs={"text": ("text:0", "string", [-1, -1])},
        outputs={"replaced": ("Replace:0", "string"), "same": ("Same:0", "string")},
    )


def where_graph_model(out: Path) -> Path:
    """Where has a data-dependent output shape: TF.js only runs it with executeAsync."""
    nodes = [placeholder("mask", "bool", [-1, 3]), op("Where", "Where", ["mask"], T={"type": "DT_BOOL"})]
    return write_graph_model(
        out, nodes, {}, inputs={"mask": ("mask:0", "bool", [-1, 3])}, outputs={"indices": ("Where:0", "int64")}
    )


def erfc_graph_model(out: Path) -> Path:
    """Erfc is an op TF.js 4.22 does not implement: running it must fail with TF.js's message."""
    nodes = [placeholder("x", "float32", [-1, 3]), op("Erfc", "Erfc", ["x"], T={"type": "DT_FLOAT"})]
    return write_graph_model(
        out, nodes, {}, inputs={"x": ("x:0", "float32", [-1, 3])}, outputs={"y": ("Erfc:0", "float32")}
    )


def dense_layers_model(out: Path, kernel: np.ndarray, bias: np.ndarray) -> Path:
    """A Keras-2-style Sequential(InputLayer 'inp', Dense 'dense') as tf.loadLayersModel reads it."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "group1-shard1of1.bin").write_bytes(kernel.astype("<f4").tobytes() + bias.astype("<f4").tobytes())
    zeros = {"class_name": "Zeros", "config": {}}
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, kernel.shape[0]], "dtype": "float32",
                                                "sparse": False, "name": "inp"}},
        {"class_name": "Dense", "config": {"name": "dense", "trainable": True, "dtype": "float32",
                                           "units": int(kernel.shape[1]), "activation": "linear", "use_bias": True,
                                           "kernel_initializer": zeros, "bias_initializer": zeros}},
    ]
    model = {
        "format": "layers-model",
        "generatedBy": "hand",
        "convertedBy": "tests/tfjs/handmade.py",
        "modelTopology": {"keras_version": "2.15.0", "backend": "tensorflow",
                          "model_config": {"class_name": "Sequential", "config": {"name": "seq", "layers": layers}}},
        "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": [
            {"name": "dense/kernel", "shape": list(kernel.shape), "dtype": "float32"},
            {"name": "dense/bias", "shape": list(bias.shape), "dtype": "float32"},
        ]}],
    }
    (out / "model.json").write_text(json.dumps(model, indent=1))
    return out


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def two_input_graph_model(out: Path) -> Path:
    """Two inputs of different dtypes (float32, int32) and two outputs, one of them int32."""
    f, i = {"type": "DT_FLOAT"}, {"type": "DT_INT32"}
    nodes = [
        placeholder("a", "float32", [-1, 3]),
        placeholder("n", "int32", [-1, 3]),
        op("Cast", "Cast", ["n"], SrcT=i, DstT=f, Truncate={"b": False}),
        op("Add", "AddV2", ["a", "Cast"], T=f),
        op("Twice", "AddV2", ["n", "n"], T=i),
    ]
    return write_graph_model(
        out, nodes, {},
        inputs={"values": ("a:0", "float32", [-1, 3]), "counts": ("n:0", "int32", [-1, 3])},
        outputs={"sum": ("Add:0", "float32"), "twice": ("Twice:0", "int32")},
    )


def fused_matmul_graph_model(out: Path, kernel: np.ndarray, bias: np.ndarray, activation: str) -> Path:
    """y = activation(x @ kernel + bias) as one _FusedMatMul, the way converters fuse it."""
    fused = {"list": {"s": [_b64("BiasAdd"), _b64(activation)]}}
    nodes = [
        placeholder("x", "float32", [-1, kernel.shape[0]]),
        const("w", kernel),
        const("b", bias),
        op("Fused", "_FusedMatMul", ["x", "w", "b"], T={"type": "DT_FLOAT"}, transpose_a={"b": False},
           transpose_b={"b": False}, fused_ops=fused, num_args={"i": "1"}, epsilon={"f": 0.0}),
    ]
    return write_graph_model(
        out, nodes, {"w": kernel, "b": bias},
        inputs={"x": ("x:0", "float32", [-1, kernel.shape[0]])}, outputs={"y": ("Fused:0", "float32")},
    )
