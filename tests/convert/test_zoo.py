"""Every zoo model converts, loads in real TF.js and matches TensorFlow on cpu and wasm."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from zoo_models import ZooModel, convert_into

from tfjs_build.convert.result import DtypeBytes
from tfjs_build.verify.runner import run_in_tfjs

pytestmark = [pytest.mark.slow]

ZOO_NAMES = [
    "convnet", "convnet-sharded", "text", "text-v2", "legacy", "attention", "multi", "looper", "looper-v2", "table",
    "table-uint8", "hub", "frozen",
]


def _model_json(entry: ZooModel) -> dict:
    return json.loads((entry.out_dir / "model.json").read_text(encoding="utf-8"))


@pytest.mark.node
@pytest.mark.parametrize("backend", ["cpu", "wasm"])
@pytest.mark.parametrize("name", ZOO_NAMES)
def test_matches_tensorflow_in_tfjs(
    zoo: dict[str, ZooModel], tfjs_available: Path, assert_close: Callable, name: str, backend: str
) -> None:
    entry = zoo[name]
    got = run_in_tfjs(entry.out_dir, entry.inputs, backend)
    assert sorted(got) == sorted(entry.expected)
    for key, expected in entry.expected.items():
        if expected.dtype.kind in "iu":  # int64 ids come back as TF.js's int32, exactly
            np.testing.assert_array_equal(got[key], expected.astype(np.int32))
        else:
            assert_close(got[key], expected)


def test_signature_keys_are_the_names_users_gave(zoo: dict[str, ZooModel]) -> None:
    expected = {
        "convnet": (["image"], ["probs"]),
        "text": (["tokens"], ["scores"]),
        "legacy": (["features"], ["probs"]),
        "attention": (["sequence"], ["output_0"]),
        "multi": (["image", "meta"], ["box", "label"]),
        "looper": (["steps", "x"], ["y"]),
        "hub": (["inputs"], ["output_0"]),
        "frozen": (["features"], ["probabilities"]),
    }
    for name, (inputs, outputs) in expected.items():
        signature = _model_json(zoo[name])["signature"]
        assert sorted(signature["inputs"]) == inputs, name
        assert list(signature["outputs"]) == outputs, name


def test_dict_outputs_write_structured_output_keys_in_signature_order(zoo: dict[str, ZooModel]) -> None:
    data = _model_json(zoo["multi"])
    assert data["userDefinedMetadata"]["structuredOutputKeys"] == list(data["signature"]["outputs"]) == ["box", "label"]
    assert "userDefinedMetadata" not in _model_json(zoo["convnet"])  # a single tensor stays a tensor


def test_model_json_keys_follow_the_reference_order(zoo: dict[str, ZooModel]) -> None:
    assert list(_model_json(zoo["convnet"])) == [
        "format", "generatedBy", "convertedBy", "signature", "modelTopology", "weightsManifest"
    ]
    assert list(_model_json(zoo["table"])) == [
        "format", "generatedBy", "convertedBy", "signature", "modelTopology", "userDefinedMetadata",
        "modelInitializer", "initializerSignature", "weightsManifest",
    ]


def test_hash_table_becomes_an_initializer_linked_by_resource_id(zoo: dict[str, ZooModel]) -> None:
    data = _model_json(zoo["table"])
    resources = {k: v for k, v in data["signature"]["inputs"].items() if "resourceId" in v}
    assert [v["dtype"] for v in resources.values()] == ["DT_RESOURCE"]
    [(output, info)] = data["initializerSignature"]["outputs"].items()
    assert info["resourceId"] == next(iter(resources.values()))["resourceId"]
    init_ops = {node["op"] for node in data["modelInitializer"]["node"]}
    assert {"HashTableV2", "LookupTableImportV2"} <= init_ops
    assert output.split(":")[0] in {node["name"] for node in data["modelInitializer"]["node"]}
    assert data["signature"]["inputs"]["words"]["dtype"] == "DT_STRING"
    weights = {w["name"]: w["dtype"] for w in data["weightsManifest"][0]["weights"]}
    assert "string" in weights.values()  # the table's keys travel as TF.js strings


def test_accuracy_of_a_model_with_tables_runs_its_initializer_once(zoo: dict[str, ZooModel]) -> None:
    result = zoo["table-uint8"].result
    assert result.quantization["float32"] == DtypeBytes(before=4, after=1)  # the scale variable
    assert result.accuracy is not None and result.accuracy.samples == 8
    assert result.accuracy.max_abs_error == 0.0  # a constant tensor quantizes exactly (scale 1)


def test_weights_are_cut_into_shard_size_files(zoo: dict[str, ZooModel]) -> None:
    [group] = _model_json(zoo["convnet-sharded"])["weightsManifest"]
    sizes = [(zoo["convnet-sharded"].out_dir / path).stat().st_size for path in group["paths"]]
    assert len(sizes) > 1 and max(sizes) <= 2048  # cut between weights (tests/tfjs_format/test_writer.py)
    assert all(re.fullmatch(r"w-[0-9a-f]{16}\.bin", path) for path in group["paths"])


def test_dynamic_batch_dimension_stays_dynamic(zoo: dict[str, ZooModel]) -> None:
    shape = _model_json(zoo["convnet"])["signature"]["inputs"]["image"]["tensorShape"]
    assert [d["size"] for d in shape["dim"]] == ["-1", "12", "12", "3"]


def test_every_constant_is_a_weight_and_the_topology_holds_no_values(zoo: dict[str, ZooModel]) -> None:
    for name in ("convnet", "looper-v2", "table"):
        entry = zoo[name]
        data = _model_json(entry)
        nodes = list(data["modelTopology"]["node"])
        for function in data["modelTopology"].get("library", {}).get("function", []):
            nodes += function.get("nodeDef", [])
        nodes += data.get("modelInitializer", {}).get("node", [])
        consts = [n for n in nodes if n["op"] == "Const"]
        manifest = [w["name"] for group in data["weightsManifest"] for w in group["weights"]]
        assert sorted(n["name"] for n in consts) == sorted(manifest), name
        assert all(set(n["attr"]["value"]["tensor"]) <= {"dtype", "tensorShape"} for n in consts), name
        assert entry.result.params == sum(int(np.prod(w.shape)) for w in entry.result.weights)
        assert [w.name for w in entry.result.weights] == manifest


def test_control_flow_is_lowered_or_kept_as_v2(zoo: dict[str, ZooModel]) -> None:
    lowered, kept = zoo["looper"].result.ops, zoo["looper-v2"].result.ops
    assert {"Enter", "Exit", "Merge", "Switch", "NextIteration", "LoopCond"} <= set(lowered)
    assert not {"While", "StatelessWhile", "If", "StatelessIf"} & set(lowered)
    assert {"StatelessWhile", "StatelessIf"} & set(kept) or {"While", "If"} & set(kept)
    assert "Tanh" in kept  # only inside the loop body: function bodies are counted
    data = _model_json(zoo["looper-v2"])
    assert data["modelTopology"]["library"]["function"]
    assert list(zoo["looper"].result.ops) == sorted(zoo["looper"].result.ops)


def test_batch_norms_are_folded_and_gelu_rewritten(zoo: dict[str, ZooModel]) -> None:
    ops = zoo["convnet"].result.ops
    assert "FusedBatchNormV3" not in ops and "Erfc" not in ops
    assert "Erf" in ops
    assert any("Erfc" in line for line in zoo["convnet"].result.rewrites)
    assert "_FusedConv2D" in ops and "FusedDepthwiseConv2dNative" in ops


def test_zero_pads_merge_into_depthwise_convs_for_tfjs_only(zoo: dict[str, ZooModel]) -> None:
    assert "Pad" not in zoo["convnet"].result.ops
    assert "merged 1 zero Pad node into depthwise convolutions (explicit padding, which TF.js runs and TF cannot)" in (
        zoo["convnet"].result.rewrites
    )
    explicit = [
        node["attr"]["explicit_paddings"]["list"].get("i")
        for node in _model_json(zoo["convnet"])["modelTopology"]["node"]
        if "Depthwise" in node["op"] and "explicit_paddings" in node["attr"]
    ]
    assert [paddings for paddings in explicit if paddings] == [["0", "0", "0", "1", "0", "1", "0", "0"]]


@pytest.mark.parametrize("name", ["convnet", "table", "looper-v2", "text", "text-v2"])
def test_converting_twice_gives_identical_bytes(zoo: dict[str, ZooModel], tmp_path: Path, name: str) -> None:
    entry = zoo[name]
    convert_into(entry.model, tmp_path / "again")
    first = {p.name: p.read_bytes() for p in sorted(entry.out_dir.iterdir())}
    second = {p.name: p.read_bytes() for p in sorted((tmp_path / "again").iterdir())}
    assert list(first) == list(second)
    for file_name in first:
        assert first[file_name] == second[file_name], file_name


@pytest.mark.node
def test_accuracy_figures_are_what_tfjs_computes_with_the_quantized_weights(
    zoo: dict[str, ZooModel], tfjs_available: Path
) -> None:
    entry = zoo["convnet-uint8"]
    figures = entry.result.accuracy
    assert figures is not None and figures.samples == 2  # one per row of convnet-inputs.npz
    assert entry.result.quantization["float32"].after < entry.result.quantization["float32"].before / 3
    got = run_in_tfjs(entry.out_dir, entry.inputs, "wasm")["probs"]
    expected = entry.expected["probs"]
    tfjs_error = float(np.max(np.abs(got.astype(np.float64) - expected)))
    assert 0 < figures.max_abs_error
    assert abs(tfjs_error - figures.max_abs_error) <= 1e-4 * (1 + float(np.max(np.abs(expected))))


def test_another_process_converting_in_another_order_gives_identical_bytes(
    zoo: dict[str, ZooModel], tmp_path: Path
) -> None:
    """TF names functions and nodes after per-process counters: a fresh worker that converts
    other Keras models first must still write the same files."""
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; from zoo_models import convert_into; "
        "from tfjs_build.config import load_config; "
        "config = load_config(Path(sys.argv[1])); "
        "[convert_into(config.model(n), Path(sys.argv[2]) / n) for n in ('multi', 'looper-v2', 'convnet')]"
    )
    config_path = zoo["convnet"].model.source_path.parent / "tfjs.yaml"
    subprocess.run([sys.executable, "-c", script, str(config_path), str(tmp_path)], check=True,
                   cwd=Path(__file__).parent, capture_output=True)
    for name in ("convnet", "looper-v2"):
        first = {p.name: p.read_bytes() for p in sorted(zoo[name].out_dir.iterdir())}
        second = {p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir())}
        assert first == second, name
