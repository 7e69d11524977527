"""End to end with the real converter: a tiny Keras SavedModel built, rebuilt byte-identically,
restored from the cache, and run in real TF.js against TensorFlow's own outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import stand_in_converter
from cli_process import run_cli
from projects import age, snapshot

from tfjs_build.config import load_config
from tfjs_build.engine.build import build
from tfjs_build.engine.plan import current_plan
from tfjs_build.terminal import Console

pytestmark = [pytest.mark.slow, pytest.mark.node]

CONFIG = """\
version: 1
models:
  tiny:
    source: models/tiny
    quantize: {quantize}
"""


@pytest.fixture(scope="session")
def tiny_saved_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray], np.ndarray]:
    """Dense(3, relu) -> Dense(2) exported as a SavedModel, sample inputs, and TF's outputs for them."""
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input((4,), name="x")
    dense = keras.layers.Dense  # non-zero biases, or the optimizer rightly drops the additions
    hidden = dense(3, activation="relu", bias_initializer="random_normal")(inputs)
    net = keras.Model(inputs, dense(2, bias_initializer="random_normal")(hidden))
    path = tmp_path_factory.mktemp("tiny") / "tiny"
    net.export(str(path), verbose=False)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    return path, {"x": x}, net(x).numpy()


@pytest.fixture
def real_project(tmp_path: Path, tiny_saved_model) -> Path:
    root = tmp_path / "project"
    shutil.copytree(tiny_saved_model[0], root / "models" / "tiny")
    (root / "tfjs.yaml").write_text(CONFIG.format(quantize="none"))
    age(root)
    return root


def _build(root: Path, **options):
    return build(load_config(root / "tfjs.yaml"), Console(verbosity=-1), **options)


def test_real_build_rebuild_restore_and_run_in_tfjs(real_project: Path, tiny_saved_model, run_tfjs, assert_close) -> None:
    summary = _build(real_project)
    assert summary.built == ["tiny"], summary.failed
    first = snapshot(real_project)
    entry = lock_models(real_project)["tiny"]
    assert entry["params"] == 4 * 3 + 3 + 3 * 2 + 2
    assert entry["shards"] == 1 and {f["path"] for f in entry["files"]} >= {"model.json"}

    _, inputs, expected = tiny_saved_model
    [actual] = run_tfjs(real_project / "dist/tfjs/tiny", inputs, "cpu").values()
    assert_close(actual, expected)

    assert _build(real_project, force=True).built == ["tiny"]
    assert snapshot(real_project) == first  # byte-identical, in another worker process

    (real_project / "tfjs.yaml").write_text(CONFIG.format(quantize="uint8"))
    quantized = _build(real_project)
    assert quantized.built == ["tiny"], quantized.failed
    assert shard_bytes(lock_models(real_project)["tiny"]) * 4 == shard_bytes(entry)  # float32 -> uint8
    (real_project / "tfjs.yaml").write_text(CONFIG.format(quantize="none"))
    assert _build(real_project).restored == ["tiny"]
    assert snapshot(real_project) == first
    assert [s.reasons for s in current_plan(load_config(real_project / "tfjs.yaml"))] == [()]


def shard_bytes(entry: dict) -> int:
    return sum(f["size"] for f in entry["files"] if f["path"].endswith(".bin"))


def lock_models(root: Path) -> dict:
    return json.loads((root / "tfjs.lock").read_text())["models"]


def test_cli_build_keeps_the_good_model_when_another_fails(real_project: Path) -> None:
    broken = real_project / "models" / "broken"
    broken.mkdir()
    (broken / "saved_model.pb").write_bytes(b"this is not a protocol buffer")
    with open(real_project / "tfjs.yaml", "a", encoding="utf-8") as config:
        config.write("  broken:\n    source: models/broken\n")
    age(real_project)
    result = run_cli("-C", str(real_project), "build", env={"NO_COLOR": "1"}, timeout=600)
    assert result.returncode == 2, result.stderr
    assert "error: broken: " in result.stderr and "Traceback" not in result.stderr
    # TensorFlow's C++ start-up chatter stays in the worker's log, out of the build's output.
    assert [line for line in result.stderr.splitlines() if not line.startswith("error: ")] == []
    assert "1 built, 1 failed" in result.stdout
    assert (real_project / "dist/tfjs/tiny/model.json").is_file()
    assert not (real_project / "dist/tfjs/broken").exists()
    assert sorted(lock_models(real_project)) == ["tiny"]


@pytest.fixture(scope="session")
def two_keras_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two small .keras models, the same layers with different weights."""
    import keras

    folder = tmp_path_factory.mktemp("keras")
    paths = []
    for seed in (3, 4):
        keras.utils.set_random_seed(seed)
        inputs = keras.Input((4,), name="x")
        hidden = keras.layers.Dense(3, activation="relu", bias_initializer="random_normal")(inputs)
        paths.append(folder / f"net{seed}.keras")
        keras.Model(inputs, keras.layers.Dense(2)(hidden)).save(paths[-1])
    return paths[0], paths[1]


def keras_project(root: Path, source: Path) -> Path:
    (root / "models").mkdir(parents=True)
    shutil.copyfile(source, root / "models/net.keras")
    (root / "tfjs.yaml").write_text("version: 1\nmodels:\n  net:\n    source: models/net.keras\n")
    age(root)
    return root


def test_real_keras_file_replaced_mid_conversion_is_never_locked(
    tmp_path: Path, two_keras_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    planned, replacement = two_keras_files
    root = keras_project(tmp_path / "project", planned)
    monkeypatch.setenv("STAND_IN_REPLACEMENT", str(replacement))
    summary = _build(root, convert_fn=stand_in_converter.replace_then_convert)
    monkeypatch.delenv("STAND_IN_REPLACEMENT")
    [(name, message, code)] = summary.failed
    assert (name, code) == ("net", 2) and not summary.built
    assert message.startswith("its source changed while it was being converted (models/net.keras); ")
    assert not (root / "tfjs.lock").exists() and not (root / "dist/tfjs/net").exists()

    shutil.copyfile(planned, root / "models/net.keras")  # back to what that build fingerprinted
    age(root)
    assert _build(root).built == ["net"]  # converted: nothing of the replacement was cached under it
    clean = keras_project(tmp_path / "clean", planned)
    assert _build(clean).built == ["net"]
    assert snapshot(root) == snapshot(clean)
