"""fusion_support: the committed table's facts, fusion keys, and reading fusions back from model.json
(json only, no tensorflow)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from importlib import resources

from tfjs_build.checks import fusion_support as fs

ALL = ("cpu", "wasm", "webgl")


def node(op: str, fused: list[str], inputs: list[str], **flags: bool) -> dict:
    attr = {"fused_ops": {"list": {"s": [base64.b64encode(f.encode()).decode() for f in fused]}}}
    attr |= {name: {"b": value} for name, value in flags.items()}
    return {"name": "n", "op": op, "input": inputs, "attr": attr}


def test_keys_name_op_traits_activation_layout_and_bias() -> None:
    assert fs.Fusion("FusedDepthwiseConv2dNative", "leakyrelu").key == "FusedDepthwiseConv2dNative/leakyrelu/bias"
    fusion = fs.Fusion("_FusedMatMul", "prelu", False, fs.PER_CHANNEL, ("transpose_b",))
    assert fusion.key == "_FusedMatMul[transpose_b]/prelu:per_channel/no_bias"
    assert fusion.describe() == "_FusedMatMul + prelu (transpose_b, per channel, zero bias)"
    assert fs.Fusion("_FusedConv2D").describe() == "_FusedConv2D + bias only"


def test_node_fusion_reads_bias_kind_alpha_layout_and_traits() -> None:
    shapes = {"alpha3": [5, 5, 4], "alpha1": [4]}
    conv = node("_FusedConv2D", ["BiasAdd", "Prelu"], ["x", "w", "tfjs_build/zero_bias_4", "alpha3"])
    assert fs.node_fusion(conv, shapes) == fs.Fusion("_FusedConv2D", "prelu", False, fs.PER_POSITION)
    conv = node("_FusedConv2D", ["BiasAdd", "Prelu"], ["x", "w", "b", "alpha1", "^ctrl"])
    assert fs.node_fusion(conv, shapes) == fs.Fusion("_FusedConv2D", "prelu", True, fs.PER_CHANNEL)
    loop = node("FusedDepthwiseConv2dNative", ["BiasAdd", "LeakyRelu"], ["x", "w", "body/dw/zero_bias"])
    assert fs.node_fusion(loop, {}) == fs.Fusion("FusedDepthwiseConv2dNative", "leakyrelu", False)
    matmul = node("_FusedMatMul", ["BiasAdd"], ["x", "w", "b"], transpose_a=False, transpose_b=True)
    assert fs.node_fusion(matmul, {}) == fs.Fusion("_FusedMatMul", traits=("transpose_b",))
    assert fs.node_fusion({"name": "c", "op": "Conv2D"}, {}) is None


def test_committed_table_withholds_the_known_defects() -> None:
    leaky_dw = fs.Fusion("FusedDepthwiseConv2dNative", "leakyrelu")
    assert set(fs.failing(leaky_dw, ALL)) == set(ALL)
    assert fs.failing(leaky_dw, ("cpu",)) == {"cpu": "NaN in the output"}
    assert set(fs.failing(fs.Fusion("_FusedMatMul", traits=("transpose_b",)), ALL)) == {"wasm"}
    assert set(fs.failing(fs.Fusion("_FusedConv2D", "prelu", True, fs.PER_POSITION), ALL)) == {"webgl"}
    for activation in ("tanh",):
        assert set(fs.failing(fs.Fusion("_FusedConv2D", activation), ALL)) == set(ALL)
    for activation in ("none", "relu", "relu6", "elu", "sigmoid", "leakyrelu"):
        assert fs.is_proven(fs.Fusion("_FusedConv2D", activation), ALL), activation
        assert fs.is_proven(fs.Fusion("_FusedMatMul", activation), ALL), activation


def test_override_and_unmeasured_fusions() -> None:
    relu = fs.Fusion("_FusedConv2D", "relu")
    hardswish = fs.Fusion("_FusedConv2D", "hardswish")
    assert fs.failing(hardswish, ("cpu",)) == {"cpu": fs.NOT_MEASURED}
    with fs.override(fs.FusionTable.assume_proven([hardswish], ("cpu",), "4.22.0")):
        assert fs.is_proven(hardswish, ("cpu",))
        assert fs.failing(relu, ("cpu", "webgpu")) == {"cpu": fs.NOT_MEASURED, "webgpu": fs.NOT_MEASURED}
    assert fs.is_proven(relu, ("cpu",))


def test_data_file_is_sorted_and_records_its_tfjs_version() -> None:
    raw = resources.files("tfjs_build.checks").joinpath("fusion_support.json").read_text(encoding="utf-8")
    data = json.loads(raw)
    assert raw == json.dumps(data, indent=1, sort_keys=True) + "\n"
    assert data["tfjs_version"] == "4.22.0" and set(data["backends"]) == set(ALL)
    assert data["generated_by"] == "scripts/gen_fusion_support.py"


def test_module_never_imports_tensorflow() -> None:
    code = ("import sys, tfjs_build.checks.fusion_support as f; f.failing(f.Fusion('_FusedConv2D'), ['cpu']); "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
