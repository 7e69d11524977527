"""`tfjs-build verify` runs the built quickstart in real TF.js and holds it to TensorFlow."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cli_process import run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
pytestmark = [pytest.mark.slow, pytest.mark.node]


def tfjs_build(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_cli("--no-color", *args, cwd=cwd, env={"NO_COLOR": "1"}, timeout=900)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("quickstart")
    shutil.copytree(EXAMPLE, project, dirs_exist_ok=True, ignore=shutil.ignore_patterns("dist", ".tfjs-build", "tfjs.lock"))
    result = tfjs_build("build", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    return project


def _first_shard(model_dir: Path) -> Path:
    """The model's first weight shard (its name is a content hash: read it from model.json)."""
    return model_dir / json.loads((model_dir / "model.json").read_text())["weightsManifest"][0]["paths"][0]


def test_verify_passes_on_every_node_backend(built: Path) -> None:
    result = tfjs_build("verify", cwd=built)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == "", "TensorFlow's start-up chatter belongs in the log, not the output"
    lines = result.stdout.splitlines()
    for model in ("digits", "digits-layers"):
        for backend in ("cpu", "wasm"):
            assert any(line.startswith(f"{model} [{backend}]: ") and line.endswith(": ok") for line in lines), lines


def test_verify_refuses_a_modified_output(built: Path, tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(built, project)
    shard = _first_shard(project / "dist" / "tfjs" / "digits-layers")
    shard.write_bytes(shard.read_bytes()[::-1])
    result = tfjs_build("verify", "digits-layers", cwd=project)
    assert result.returncode == 2
    assert "models.digits-layers: digits-layers is stale (output modified" in result.stderr
    assert "run `tfjs-build build digits-layers` before verifying" in result.stderr


def test_verify_fails_when_tfjs_computes_something_else(built: Path, tmp_path: Path) -> None:
    """Wrong weights that the lock vouches for (as a converter bug would write) fail with exit 1."""
    project = tmp_path / "p"
    shutil.copytree(built, project)
    model_dir = project / "dist" / "tfjs" / "digits-layers"
    shard = _first_shard(model_dir)
    weights = np.frombuffer(shard.read_bytes(), dtype="<f4").copy()
    weights *= 1.5
    shard.write_bytes(weights.tobytes())
    lock_path = project / "tfjs.lock"
    lock = json.loads(lock_path.read_text())
    for entry in lock["models"]["digits-layers"]["files"]:
        if entry["path"] == shard.name:
            entry["sha256"] = hashlib.sha256(shard.read_bytes()).hexdigest()
    lock_path.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    result = tfjs_build("verify", "digits-layers", "--backend", "cpu", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("digits-layers [cpu]: max abs error") and result.stdout.rstrip().endswith("FAILED")
