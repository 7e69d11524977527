"""End to end with the real converter: a tiny Keras SavedModel built, rebuilt byte-identically,
restored from the cache, and run in real TF.js against TensorFlow's own outputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine_project import age, snapshot
from tfjs_build.builder import build
from tfjs_build.config import load_config
from tfjs_build.console import Console
from tfjs_build.plan import current_plan

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
    result = subprocess.run([sys.executable, "-m", "tfjs_build", "-C", str(real_project), "build"],
                            capture_output=True, text=True, timeout=600, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 2, result.stderr
    assert "error: broken: " in result.stderr and "Traceback" not in result.stderr
    # TensorFlow's C++ start-up chatter stays in the worker's log, out of the build's output.
    assert [line for line in result.stderr.splitlines() if not line.startswith("error: ")] == []
    assert "1 built, 1 failed" in result.stdout
    assert (real_project / "dist/tfjs/tiny/model.json").is_file()
    assert not (real_project / "dist/tfjs/broken").exists()
    assert sorted(lock_models(real_project)) == ["tiny"]
