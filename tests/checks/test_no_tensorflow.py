"""`tfjs-build check` on 50 built models never imports tensorflow (a stand-in that explodes proves it)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from cli_process import run_cli
from no_tensorflow import PoisonedTensorflow
from projects import Project, entry

from tfjs_build.engine.lockfile import OutputFile

MODELS = 50
NODES = 300  # per model.json: the check reads every topology for node names and fused ops
WEIGHTS = 100


def _output(folder: Path, name: str, data: bytes) -> OutputFile:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return OutputFile(name, len(data), hashlib.sha256(data).hexdigest())


def _build_outputs(project: Project, name: str) -> tuple[OutputFile, ...]:
    """What a build leaves: a graph model.json and one shard (contents irrelevant to check)."""
    folder = project.root / "dist" / "tfjs" / name
    nodes = [{"name": f"layer{i}/Conv2D", "op": "Conv2D"} for i in range(NODES)]
    model = json.dumps({"format": "graph-model", "modelTopology": {"node": nodes}, "weightsManifest": []})
    return _output(folder, "model.json", model.encode()), _output(folder, "group1-shard1of1.bin", bytes(4096))


def test_check_of_50_models_runs_without_tensorflow(project: Project, poisoned_tensorflow: PoisonedTensorflow) -> None:
    names = [f"model-{i:02d}" for i in range(MODELS)]
    models = "".join(f"  {name}:\n    source: {project.source(name)}\n" for name in names)
    project.write_config(f"version: 1\ndefaults:\n  budgets:\n    size: 5MB\n    params: 2000000\nmodels:\n{models}")
    weights = tuple((f"layer{i}/kernel", "float32", 4000) for i in range(WEIGHTS))
    project.write_lock({
        name: entry(ops=("Conv2D", "Identity", "Placeholder"), weights=weights, files=_build_outputs(project, name))
        for name in names
    })
    env = {"PYTHONPATH": str(poisoned_tensorflow.pythonpath), "NO_COLOR": "1"}

    result = run_cli("-C", str(project.root), "check", "--html", "report.html", env=env, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert not poisoned_tensorflow.imported
    assert result.stdout.count(" ok\n") == MODELS
    assert "50 models, all checks passed" in result.stdout


def test_the_stand_in_tensorflow_does_explode(poisoned_tensorflow: PoisonedTensorflow) -> None:
    """Guards every no-tensorflow test: the stand-in really is what `import tensorflow` finds."""
    result = subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(poisoned_tensorflow.pythonpath)}, timeout=60)
    assert result.returncode != 0 and "tensorflow was imported" in result.stderr
    assert poisoned_tensorflow.imported
