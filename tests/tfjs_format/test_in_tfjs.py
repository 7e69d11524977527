"""Weights loaded by real TF.js equal what was written (quantized ones: numpy's dequantization, bit for bit).

The model is a hand-written graph whose outputs are its weights (``Identity(Const)``),
written with ``write_weights`` and ``write_model_json`` in three weight groups with small
content-named shards: weights larger than a shard span several files, two groups share a
file (equal bytes), so TF.js's own fetching and decoding is what is being checked, once
per backend (cpu, wasm in node; webgl in headless Chromium).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tfjs_build.tfjs_format.weights import WrittenWeights, write_model_json, write_weights

pytestmark = [pytest.mark.slow, pytest.mark.node]
RNG = np.random.default_rng(21)
DT = {"float32": "DT_FLOAT", "int32": "DT_INT32", "bool": "DT_BOOL", "string": "DT_STRING"}
SHARD_SIZE = 301
WEIGHTS: dict[str, tuple[np.ndarray, str | None]] = {  # three groups: conv.. dense, negative.. huge, the rest
    "conv/kernel": (RNG.standard_normal((3, 3, 4, 8)).astype(np.float32), "uint8"),
    "conv/bias": (RNG.standard_normal(8).astype(np.float32) * 1e-3, "uint16"),
    "dense/kernel": (RNG.standard_normal((40, 30)).astype(np.float32), "float16"),
    "negative": (-np.abs(RNG.standard_normal(33)).astype(np.float32) - 1, "uint8"),
    "positive": (np.abs(RNG.standard_normal(33)).astype(np.float32) + 1, "uint16"),
    "constant": (np.full((2, 3), -0.375, np.float32), "uint8"),
    "single": (np.float32([7.25]), "uint16"),
    "huge": (np.float32([-1e38, 0, 2.5e38]), "uint16"),
    "plain": (RNG.standard_normal(5).astype(np.float32), None),
    "ids": (np.array([[1, -2], [2**31 - 1, 0]], np.int64), None),
    "flags": (np.array([True, False, True]), None),
    "words": (np.array(["héllo", "", "日本"], dtype=object), None),
    "zeros_a": (np.zeros(100, np.float32), None),  # two shards of its own
    "zeros_b": (np.zeros(100, np.float32), None),  # the same bytes in another group: the same two files
}
GROUPS = (("conv/kernel", "conv/bias", "dense/kernel", "zeros_a"),
          ("negative", "positive", "constant", "single", "huge"),
          ("plain", "ids", "flags", "words", "zeros_b"))


def _const(name: str, dtype: str, shape: tuple[int, ...]) -> dict[str, Any]:
    dims = {"dim": [{"size": str(d)} for d in shape]} if shape else {}
    tensor = {"dtype": DT[dtype], "tensorShape": dims}
    return {"name": name, "op": "Const", "attr": {"dtype": {"type": DT[dtype]}, "value": {"tensor": tensor}}}


def _weights_model(out: Path) -> WrittenWeights:
    quantize = {name: dtype for name, (_, dtype) in WEIGHTS.items() if dtype}
    groups = [[(name, WEIGHTS[name][0]) for name in group] for group in GROUPS]
    written = write_weights(groups, out, shard_size=SHARD_SIZE, quantize=quantize)
    nodes: list[dict[str, Any]] = [{"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}}]
    outputs = {}
    for index, spec in enumerate(spec for group in written.manifest for spec in group["weights"]):
        nodes.append(_const(spec["name"], spec["dtype"], tuple(spec["shape"])))
        nodes.append({"name": f"out{index}", "op": "Identity", "input": [spec["name"]],
                      "attr": {"T": {"type": DT[spec["dtype"]]}}})
        outputs[spec["name"]] = {"name": f"out{index}:0", "dtype": DT[spec["dtype"]]}
    write_model_json(out, {
        "format": "graph-model",
        "generatedBy": "tests",
        "convertedBy": "tfjs-build tests/weights",
        "signature": {"inputs": {"x": {"name": "x:0", "dtype": "DT_FLOAT", "tensorShape": {"dim": [{"size": "1"}]}}},
                      "outputs": outputs},
        "modelTopology": {"node": nodes, "library": {}, "versions": {"producer": 1700}},
        "weightsManifest": written.manifest,
    })
    return written


@pytest.fixture(scope="module")
def weights_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, WrittenWeights]:
    out = tmp_path_factory.mktemp("weights_model")
    return out, _weights_model(out)


@pytest.mark.parametrize("backend", ["cpu", "wasm", pytest.param("webgl", marks=pytest.mark.browser)])
def test_tfjs_decodes_every_weight_as_numpy_does(
    weights_model: tuple[Path, WrittenWeights], backend: str, run_tfjs: Callable[..., dict[str, np.ndarray]]
) -> None:
    out, written = weights_model
    paths = [path for group in written.manifest for path in group["paths"]]
    assert len(written.manifest) == 3 and len(paths) > 8
    assert all(re.fullmatch(r"w-[0-9a-f]{16}\.bin", path) for path in paths)
    assert sorted(set(paths)) == sorted(p.name for p in out.glob("*.bin"))  # one file per distinct shard
    assert len(set(paths)) == len(paths) - 2  # zeros_a and zeros_b share theirs
    assert max(w.nbytes for w in written.weights) > 2 * SHARD_SIZE  # a weight spans several shards
    got = run_tfjs(out, {"x": np.zeros(1, np.float32)}, backend)
    dequantized = written.dequantized()
    assert set(dequantized) == {name for name, (_, dtype) in WEIGHTS.items() if dtype}
    for name, (value, dtype) in WEIGHTS.items():
        if dtype:
            expected = dequantized[name]
            assert got[name].dtype == np.float32 and got[name].shape == value.shape
            assert got[name].tobytes() == expected.tobytes(), f"{name} ({dtype}) differs from numpy's dequantization"
            assert not np.array_equal(expected, value) or dtype != "float16" or name == "constant"
        elif value.dtype == object:
            assert got[name].tolist() == [w.encode() for w in value]
        else:
            np.testing.assert_array_equal(got[name], value.astype(got[name].dtype), err_msg=name)
    np.testing.assert_array_equal(got["constant"], WEIGHTS["constant"][0])  # constants are exact
    assert got["huge"][1] == 0.0  # zero stays exactly zero
