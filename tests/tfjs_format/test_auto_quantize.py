"""``quantize: auto`` end to end: the real converter, tfjs.lock, and the model in real TF.js.

A small Keras classifier is built with each fixed dtype first; the limit is set below the
uint8 error and far above the float16 one (uint8 fails, float16 passes), and auto must then pass,
come out smaller than float16, choose the same on a rebuild, leave explicitly globbed
weights alone, and run in TF.js within the error it reported.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_process import run_cli

from tfjs_build.checks.accuracy import compare_outputs, sample_inputs
from tfjs_build.config import load_config
from tfjs_build.convert.result import ConvertResult
from tfjs_build.errors import ConfigError

SAMPLES = 6


def _classifier(path: Path) -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(3)
    image = keras.Input((16, 16, 3), name="image")
    x = image
    for index, width in enumerate((16, 32, 32)):
        x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{index}")(x)
        x = keras.layers.BatchNormalization(momentum=0.0, name=f"bn{index}")(x)
        x = keras.layers.ReLU(name=f"relu{index}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dense(48, activation="relu", name="neck")(x)
    probs = keras.layers.Dense(5, activation="softmax", name="head")(x)
    net = keras.Model(image, probs)
    net(np.random.default_rng(0).standard_normal((32, 16, 16, 3)).astype(np.float32), training=True)  # BN statistics
    net.save(path)
    return net


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    path = tmp_path_factory.mktemp("auto") / "net.keras"
    return path, _classifier(path)


def _project(root: Path, source: Path, quantize: str, max_error: float) -> Path:
    root.mkdir()
    (root / "net.keras").write_bytes(source.read_bytes())
    (root / "tfjs.yaml").write_text(
        f"version: 1\nmodels:\n  net:\n    source: net.keras\n    quantize: {quantize}\n"
        f"    accuracy: {{max_error: {max_error!r}, samples: {SAMPLES}}}\n")
    return root


def _convert(root: Path, source: Path, quantize: str, max_error: float = 1.0) -> tuple[Path, ConvertResult]:
    from tfjs_build.convert import convert_model

    project = _project(root, source, quantize, max_error)
    out_dir, work_dir = project / "out", project / "work"
    out_dir.mkdir()
    work_dir.mkdir()
    return out_dir, convert_model(load_config(project / "tfjs.yaml").model("net"), project / "net.keras", out_dir, work_dir)


def _dtypes(result: ConvertResult) -> dict[str, str]:
    return {w.name: w.dtype for w in result.weights if w.dtype != "int32"}


def _weight_bytes(result: ConvertResult) -> int:
    return sum(w.nbytes for w in result.weights)


@pytest.fixture(scope="module")
def limit(classifier: tuple[Path, Any], tmp_path_factory: pytest.TempPathFactory) -> float:
    """Below the uint8 error, far above the float16 one: uint8 fails it, float16 passes."""
    folder = tmp_path_factory.mktemp("fixed")
    errors = {}
    for dtype in ("uint8", "float16"):
        result = _convert(folder / dtype, classifier[0], dtype)[1]
        assert result.accuracy is not None
        errors[dtype] = result.accuracy.max_abs_error
    assert errors["float16"] * 20 < errors["uint8"]
    return errors["uint8"] * 0.6


@pytest.mark.slow
@pytest.mark.node
def test_auto_passes_beats_float16_and_matches_in_tfjs(
    tmp_path: Path, classifier: tuple[Path, Any], limit: float, run_tfjs: Callable[..., dict[str, np.ndarray]]
) -> None:
    out_dir, result = _convert(tmp_path / "auto", classifier[0], "auto", limit)
    float16 = sum(2 * math.prod(w.shape) for w in result.weights if w.dtype != "int32")
    assert result.accuracy is not None and 0 < result.accuracy.max_abs_error <= limit
    assert {"uint8"} < set(_dtypes(result).values())  # some uint8, not all
    assert _weight_bytes(result) < 0.85 * float16
    manifest = json.loads((out_dir / "model.json").read_text())["weightsManifest"]
    stored = {w["name"]: w.get("quantization", {}).get("dtype", w["dtype"]) for g in manifest for w in g["weights"]}
    assert {name: stored[name] for name in _dtypes(result)} == _dtypes(result)  # the lock's record is what was written
    samples = sample_inputs([("image", "float32", (None, 16, 16, 3))], SAMPLES)
    net = classifier[1]
    reference = [{"probs": np.asarray(net(s["image"], training=False))} for s in samples]
    (key,) = json.loads((out_dir / "model.json").read_text())["signature"]["outputs"]
    rows = run_tfjs(out_dir, {"image": np.concatenate([s["image"] for s in samples])}, "cpu")[key]
    in_tfjs = compare_outputs(reference, [{"probs": rows[i:i + 1]} for i in range(SAMPLES)])
    assert in_tfjs.max_abs_error == pytest.approx(result.accuracy.max_abs_error, rel=0.02, abs=1e-6)


@pytest.mark.slow
def test_explicit_globs_win_over_auto(tmp_path: Path, classifier: tuple[Path, Any], limit: float) -> None:
    quantize = "{auto: '*', float16: '*head*', float32: '*neck*'}"
    result = _convert(tmp_path / "globs", classifier[0], quantize, limit)[1]
    dtypes = _dtypes(result)
    head = {name: dtype for name, dtype in dtypes.items() if "head" in name}
    neck = {name: dtype for name, dtype in dtypes.items() if "neck" in name}
    assert head and set(head.values()) == {"float16"}
    assert neck and set(neck.values()) == {"float32"}
    assert "uint8" in {dtype for name, dtype in dtypes.items() if name not in head and name not in neck}
    assert result.accuracy is not None and result.accuracy.max_abs_error <= limit


@pytest.mark.slow
def test_rebuild_chooses_the_same_and_the_lock_records_it(
    tmp_path: Path, classifier: tuple[Path, Any], limit: float
) -> None:
    locks = []
    for run in ("first", "second"):
        project = _project(tmp_path / run, classifier[0], "auto", limit)
        done = run_cli("--no-color", "-C", str(project), "build", timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
        locks.append((project / "tfjs.lock").read_text())  # each project has its own cache: both converted
    assert locks[0] == locks[1]
    entry = json.loads(locks[0])["models"]["net"]
    assert entry["settings"]["accuracy"]["max_error"] == limit  # part of the fingerprint: it shapes the files
    assert "uint8" in {dtype for _, dtype, _ in entry["weights"]}  # the choice, per weight
    assert entry["accuracy"]["max_abs_error"] <= limit


def test_auto_needs_a_limit_and_the_graph_format(tmp_path: Path) -> None:
    (tmp_path / "net.keras").write_bytes(b"")
    (tmp_path / "tfjs.yaml").write_text("version: 1\nmodels:\n  net: {source: net.keras, quantize: auto}\n")
    with pytest.raises(ConfigError, match=r"tfjs.yaml:3:\d+: models.net.quantize: auto .* accuracy.max_error"):
        load_config(tmp_path / "tfjs.yaml")
    (tmp_path / "tfjs.yaml").write_text("version: 1\nmodels:\n  net: {source: net.keras, format: layers, "
                                        "quantize: auto, accuracy: {max_error: 0.01}}\n")
    with pytest.raises(ConfigError, match=r"models.net.quantize: auto .* format: graph only"):
        load_config(tmp_path / "tfjs.yaml")
