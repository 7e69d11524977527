"""Single ops (and the StridedSlice -> Cumsum chain of issue 10) in TF vs real TF.js on cpu, wasm and
webgl: a seeded subset of ``scripts/gen_op_defects.py``'s cases, always with the known defects, must
give exactly the committed ``op_defects.json``; and the verdicts the harness gives, on made-up outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tfjs_build.checks import op_support
from tfjs_build.verify.cases import verdict
from tfjs_build.verify.runner import TfjsRuntimeError

from .scripts_loader import load_script

ROOT = Path(__file__).resolve().parents[3]
BACKENDS = ("cpu", "wasm", "webgl")
KNOWN = ("StridedSlice -> Cumsum (axis -1)", "Cumsum (axis < 0)", "Cumsum (axis >= 0)", "Mod", "OneHot (other axis)",
         "FloorDiv", "StridedSlice (negative strides)")
SUBSET_SEED, SUBSET_SIZE = 3, 10


def generator() -> Any:
    return load_script("gen_op_defects")


def committed() -> dict[str, Any]:
    return json.loads((ROOT / "tfjs_build/checks/op_defects.json").read_text(encoding="utf-8"))["backends"]


def test_verdicts_name_what_went_wrong() -> None:
    want = {"y": np.array([[1.0, -2.0]], np.float32)}
    keys = {"out": "y"}
    assert verdict({"out": np.array([[1.0, -2.0]], np.float32)}, want, keys) is None
    assert verdict({"out": np.array([1.0, -2.0], np.float32)}, want, keys) == "output shape [2] instead of [1, 2]"
    assert verdict({"out": np.array([[1, -2]], np.int32)}, want, keys) == "int32 output where TensorFlow's is float32"
    assert verdict({"out": np.array([[np.nan, -2.0]], np.float32)}, want, keys) == "NaN in the output"
    assert verdict({"out": np.array([[1.0, -2.01]], np.float32)}, want, keys) == "error 0.0033 x (1 + max|y|)"
    inf = {"y": np.array([np.inf, 1.0], np.float32)}
    assert verdict({"out": np.array([np.inf, 1.0], np.float32)}, inf, keys) is None
    assert verdict({"out": np.array([-np.inf, 1.0], np.float32)}, inf, keys) == "infinities or NaNs differ"
    ints = {"y": np.array([3, 4], np.int64)}
    assert verdict({"out": np.array([3, 5], np.int32)}, ints, keys) == "wrong values (integer or boolean output)"
    error = TfjsRuntimeError("m", backend="webgl", stage="execute", js_message="Failed to compile fragment shader.\nmore")
    assert verdict(error, want, keys) == "TF.js failed to execute: Failed to compile fragment shader."


def test_table_covers_every_case_on_every_backend_that_has_its_ops() -> None:
    table = committed()
    for backend in BACKENDS:
        expected = {name for name, (_, ops) in generator().cases().items()
                    if all(op_support.is_supported(op, [backend]) for op in ops)}
        entry = table[backend]
        assert set(entry["right"]) | set(entry["wrong"]) == expected, backend


@pytest.mark.slow
@pytest.mark.node
@pytest.mark.browser
def test_committed_defects_are_what_tfjs_computes_now(tfjs_available: Path, chromium: str) -> None:
    gen = generator()
    others = sorted(set(gen.cases()) - set(KNOWN))
    names = sorted({*KNOWN, *np.random.default_rng(SUBSET_SEED).choice(others, SUBSET_SIZE, replace=False)})
    measured = gen.measure(names)
    table = committed()
    for backend in BACKENDS:
        expected = {name: table[backend]["wrong"].get(name) for name in names
                    if name in table[backend]["wrong"] or name in table[backend]["right"]}
        assert measured[backend] == expected, backend
    # issue 10's chain, and what is to blame for it
    for backend in ("cpu", "wasm"):
        assert "shape [null, 1]" in table[backend]["wrong"]["StridedSlice -> Cumsum (axis -1)"]
    assert all("Cumsum (axis < 0)" in table[b]["wrong"] and "Cumsum (axis >= 0)" in table[b]["right"] for b in BACKENDS)
