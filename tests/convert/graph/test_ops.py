"""Op-support queries against the generated TF.js 4.22 data (no tensorflow needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tfjs_build.checks import op_support as ops

ALL = ("cpu", "wasm", "webgl")


def test_data_records_pinned_version() -> None:
    assert ops.tfjs_version() == "4.22.0"


def test_erfc_is_unsupported_everywhere_but_erf_is_not() -> None:
    result = ops.unsupported_ops(["Erfc", "Erf", "Conv2D", "Identity"], ALL)
    assert result == {"cpu": ["Erfc"], "wasm": ["Erfc"], "webgl": ["Erfc"]}


def test_backend_specific_kernel_gap() -> None:
    # tfjs-backend-wasm 4.22 registers no Einsum kernel; cpu and webgl do.
    assert ops.unsupported_ops(["Einsum"], ALL) == {"wasm": ["Einsum"]}
    assert ops.is_supported("Einsum", ["cpu", "webgl"])
    assert not ops.is_supported("Einsum", ["cpu", "wasm"])
    assert ops.missing_kernels("Einsum", "wasm") == ("Einsum",)
    assert ops.missing_kernels("Erfc", "cpu") is None


def test_wasm_bias_rank() -> None:
    assert ops.fused_bias_rank1_only("wasm")
    assert not ops.fused_bias_rank1_only("cpu")


def test_unknown_backend_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown TF.js backend 'webgpu'"):
        ops.missing_kernels("Relu", "webgpu")


def test_find_unsupported_lists_each_op_once_with_all_nodes() -> None:
    topology = {
        "node": [
            {"name": "x", "op": "Placeholder"},
            {"name": "gelu/Erfc", "op": "Erfc"},
            {"name": "e", "op": "Einsum"},
        ],
        "library": {"function": [{"signature": {"name": "body"}, "nodeDef": [{"name": "inner", "op": "Erfc"}]}]},
    }
    findings = ops.find_unsupported(ops.topology_nodes(topology), ["cpu", "wasm"])
    assert [(f.op, f.backends, f.nodes) for f in findings] == [
        ("Einsum", ("wasm",), ("e",)),
        ("Erfc", ("cpu", "wasm"), ("body/inner", "gelu/Erfc")),
    ]
    text = ops.format_unsupported(findings)
    assert text.splitlines() == [
        "  Einsum on wasm (no Einsum kernel on wasm): e",
        f"  Erfc on cpu, wasm ({ops.NOT_IN_CONVERTER}): body/inner, gelu/Erfc",
    ]


def test_ops_module_never_imports_tensorflow() -> None:
    code = ("import sys, tfjs_build.checks.op_support as o; o.unsupported_ops(['Erfc'], ['cpu']); "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_data_file_is_sorted_and_complete() -> None:
    from importlib import resources

    raw = resources.files("tfjs_build.checks").joinpath("op_support.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    assert raw == json.dumps(data, indent=1, sort_keys=True) + "\n"
    assert set(data["backends"]) == set(ALL)
    assert data["ops"]["_FusedConv2D"]["kernels"] == ["FusedConv2D"]


@pytest.mark.slow
@pytest.mark.node
def test_generator_reproduces_the_data_file(tfjs_available: Path, tmp_path: Path) -> None:
    """The committed data is exactly what the script derives from the pinned npm packages (and by running them)."""
    root = Path(__file__).resolve().parents[3]
    out = tmp_path / "op_support.json"
    subprocess.run(
        [sys.executable, str(root / "scripts/gen_op_support.py"), "--node-modules-prefix", str(tfjs_available.parent),
         "--output", str(out)],
        check=True, capture_output=True, text=True,
    )
    assert out.read_bytes() == (root / "tfjs_build/checks/op_support.json").read_bytes()
