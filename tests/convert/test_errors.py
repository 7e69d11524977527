"""User errors name tfjs.yaml:line:col, the model and key, what was expected and the fix;
op support is checked per backend before any file is written."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from zoo_models import convert_into

from tfjs_build.config import load_config
from tfjs_build.errors import ConfigError, SourceError, UnsupportedModelError
from tfjs_build.verify.runner import run_in_tfjs


def test_importing_the_converter_package_does_not_import_tensorflow() -> None:
    code = "import sys, tfjs_build.convert, tfjs_build.sources.download; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    """A spectrum model (RFFT, ComplexAbs: kernels on cpu, none on wasm in TF.js 4.22; frames of a length unknown
    when converting, so no DFT rewrite can replace them) and a frozen graph."""
    import tensorflow as tf

    folder = tmp_path_factory.mktemp("errors")

    class Spectrum(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32, name="signal")])
        def __call__(self, signal: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"magnitude": tf.abs(tf.signal.rfft(signal))}

    module = Spectrum()
    tf.saved_model.save(module, str(folder / "spectrum"), signatures=module.__call__.get_concrete_function())
    x = np.random.default_rng(1).standard_normal((2, 8)).astype("float32")
    graph = tf.Graph()
    with graph.as_default():
        inp = tf.compat.v1.placeholder(tf.float32, [None, 3], name="features")
        tf.identity(tf.nn.relu(inp * 2.0), name="probabilities")
    (folder / "frozen.pb").write_bytes(graph.as_graph_def().SerializeToString())
    (folder / "labels.json").write_text(json.dumps({"classes": ["cat", "dog"]}), encoding="utf-8")
    (folder / "broken.json").write_text("{not json", encoding="utf-8")
    return folder, {"signal": x, "expected": module(x)["magnitude"].numpy()}


def _convert(folder: Path, name: str, settings: str, tmp_path: Path) -> Path:
    (folder / "tfjs.yaml").write_text(f"version: 1\nmodels:\n  {name}:\n{settings}", encoding="utf-8")
    model = load_config(folder / "tfjs.yaml").model(name)
    convert_into(model, tmp_path / name)
    return tmp_path / name


@pytest.mark.slow
def test_unsupported_ops_are_listed_once_with_their_nodes_and_config_line(
    project: tuple[Path, dict], tmp_path: Path
) -> None:
    folder, _ = project
    with pytest.raises(UnsupportedModelError) as info:
        _convert(folder, "spectrum", "    source: spectrum\n    backends: [cpu, wasm]\n", tmp_path)
    message = str(info.value)
    assert message.startswith(f"{folder / 'tfjs.yaml'}:5:15: models.spectrum.backends: ")
    assert "cannot run 2 ops of this model on cpu, wasm" in message
    assert message.count("RFFT on wasm") == 1 and "RFFT on wasm (no Complex/FFT/Imag/Real kernel on wasm)" in message
    assert message.count("ComplexAbs on wasm") == 1 and "(no ComplexAbs kernel on wasm)" in message
    assert ": PartitionedCall/rfft" in message and ": PartitionedCall/Abs" in message  # the nodes using them
    assert "`backends:`" in message  # the fix
    assert not list((tmp_path / "spectrum").iterdir())  # failed before writing anything


@pytest.mark.slow
@pytest.mark.node
def test_the_same_model_converts_and_runs_for_a_backend_that_has_the_ops(
    project: tuple[Path, dict], tmp_path: Path, tfjs_available: Path, assert_close: Callable
) -> None:
    folder, data = project
    out = _convert(folder, "spectrum", "    source: spectrum\n    backends: [cpu]\n", tmp_path)
    got = run_in_tfjs(out, {"signal": data["signal"]}, "cpu")
    assert_close(got["magnitude"], data["expected"])


@pytest.mark.slow
def test_a_missing_output_node_suggests_the_right_name(project: tuple[Path, dict], tmp_path: Path) -> None:
    folder, _ = project
    with pytest.raises(SourceError) as info:
        _convert(folder, "frozen", "    source: frozen.pb\n    outputs: [probabilitys]\n", tmp_path)
    assert ("tfjs.yaml:5:14: models.frozen.outputs: the graph has no node 'probabilitys' "
            "(did you mean 'probabilities'?)") in str(info.value)


@pytest.mark.slow
def test_a_missing_signature_lists_the_available_ones(tmp_path: Path) -> None:
    import tensorflow as tf

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def __call__(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"y": x * 2.0}

    module = Module()
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"serving_default": module.__call__.get_concrete_function()})
    with pytest.raises(SourceError) as info:
        _convert(tmp_path, "sm", "    source: sm\n    signature: serving_defualt\n", tmp_path / "out")
    assert (
        "tfjs.yaml:5:16: models.sm.signature: the SavedModel has no signature 'serving_defualt' "
        "(did you mean 'serving_default'?); it has: serving_default"
    ) in str(info.value)


@pytest.mark.slow
def test_metadata_files_become_user_defined_metadata(project: tuple[Path, dict], tmp_path: Path) -> None:
    folder, _ = project
    settings = "    source: frozen.pb\n    outputs: [probabilities]\n    metadata:\n      labels: labels.json\n"
    out = _convert(folder, "frozen", settings, tmp_path)
    data = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert data["userDefinedMetadata"] == {"labels": {"classes": ["cat", "dog"]}}
    assert list(data)[4:6] == ["modelTopology", "userDefinedMetadata"]


@pytest.mark.slow
def test_a_metadata_file_that_is_not_json_names_its_key(project: tuple[Path, dict], tmp_path: Path) -> None:
    folder, _ = project
    settings = "    source: frozen.pb\n    outputs: [probabilities]\n    metadata:\n      labels: broken.json\n"
    with pytest.raises(ConfigError, match=r"tfjs.yaml:7:15: models.frozen.metadata.labels: cannot read .*broken.json as JSON"):
        _convert(folder, "frozen", settings, tmp_path)


@pytest.mark.slow
@pytest.mark.node
def test_debug_ops_are_stripped_unless_asked_to_keep_them(
    tmp_path: Path, tfjs_available: Path, assert_close: Callable
) -> None:
    import tensorflow as tf

    class Checked(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
        def __call__(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
            x = tf.debugging.check_numerics(x, "x has NaN")
            tf.debugging.assert_all_finite(x, "not finite")
            return {"y": tf.sqrt(tf.abs(x)) + 1.0}

    module = Checked()
    tf.saved_model.save(module, str(tmp_path / "checked"), signatures=module.__call__.get_concrete_function())
    x = np.array([[1.0, -4.0, 9.0]], dtype="float32")
    out = _convert(tmp_path, "checked", "    source: checked\n    backends: [cpu]\n", tmp_path / "out")
    ops = {n["op"] for n in json.loads((out / "model.json").read_text(encoding="utf-8"))["modelTopology"]["node"]}
    assert not ops & {"CheckNumerics", "Assert"}
    assert_close(run_in_tfjs(out, {"x": x}, "cpu")["y"], module(x)["y"].numpy())
    with pytest.raises(UnsupportedModelError, match=r"CheckNumerics on cpu \(TF.js's graph-model converter has no such op\)"):
        _convert(tmp_path, "checked", "    source: checked\n    backends: [cpu]\n    strip_debug_ops: false\n", tmp_path / "kept")
