"""Real architectures (BERT, GPT-2, Llama, ConvNeXt, Swin, an STFT front end) build with the default backends
and match TensorFlow on cpu, wasm and webgl at 1e-4 * (1 + max|y|).

Every model is built, exported and converted once per module (tiny configs, random weights); each
backend runs all of them in one TF.js process.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from architectures import BUILDERS

from tfjs_build.config import load_config

pytestmark = [pytest.mark.slow]
DEFAULT_BACKENDS = ("cpu", "wasm", "webgl")
# What each architecture needs rewritten (a line of the build report starts with each).
EXPECTED_REWRITES = {
    "bert": ["rewrote 8 Einsum nodes"],
    "gpt2": ["rewrote 8 Einsum nodes"],
    "llama": ["rewrote 12 Einsum nodes"],
    "convnext": ["rewrote 4 grouped Conv2Ds", "rewrote 4 Erfc nodes"],
    "swin": ["rewrote 2 Roll nodes", "rewrote 9 XlaDynamicUpdateSlice nodes"],
    "stft": ["rewrote 1 RFFT node"],
}


@dataclass
class Converted:
    out_dir: Path
    model_json: dict[str, Any]
    rewrites: tuple[str, ...]
    inputs: dict[str, np.ndarray]
    expected: dict[str, np.ndarray]


@pytest.fixture(scope="module")
def architectures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Converted]:
    """Every architecture as a SavedModel, listed in one tfjs.yaml without `backends:` (the default), converted."""
    from tfjs_build.convert import convert_model

    project = tmp_path_factory.mktemp("architectures")
    rng = np.random.default_rng(0)
    built = {name: build(project / name, rng) for name, build in BUILDERS.items()}
    models = "".join(f"  {name}:\n    source: {name}\n" for name in BUILDERS)
    (project / "tfjs.yaml").write_text(f"version: 1\nmodels:\n{models}", encoding="utf-8")
    config = load_config(project / "tfjs.yaml")
    converted = {}
    for name, (inputs, expected) in built.items():
        model = config.model(name)
        assert tuple(model.backends) == DEFAULT_BACKENDS
        out_dir = project / "out" / name
        out_dir.mkdir(parents=True)
        result = convert_model(model, model.source_path, out_dir, project / "work")
        shutil.rmtree(project / "work", ignore_errors=True)
        model_json = json.loads((out_dir / "model.json").read_text(encoding="utf-8"))
        keys = list(model_json["signature"]["inputs"])
        feed = inputs if set(inputs) == set(keys) else dict(zip(keys, inputs.values(), strict=True))
        converted[name] = Converted(out_dir, model_json, result.rewrites, feed, expected)
    return converted


def test_each_architecture_reports_its_rewrites(architectures: dict[str, Converted]) -> None:
    for name, expected in EXPECTED_REWRITES.items():
        for start in expected:
            assert any(line.startswith(start) for line in architectures[name].rewrites), (name, start)
        ops = {node["op"] for node in architectures[name].model_json["modelTopology"]["node"]}
        assert not ops & {"Einsum", "Roll", "XlaDynamicUpdateSlice", "RFFT", "ComplexAbs", "StatefulPartitionedCall"}, name


def test_converting_again_gives_identical_bytes(architectures: dict[str, Converted], tmp_path: Path) -> None:
    """The rewrite chains (Roll, slice_update, Einsum, inlined calls) name and order their nodes deterministically."""
    from tfjs_build.convert import convert_model

    entry = architectures["swin"]
    model = load_config(entry.out_dir.parent.parent / "tfjs.yaml").model("swin")
    convert_model(model, model.source_path, tmp_path / "again", tmp_path / "work")
    for path in sorted(entry.out_dir.iterdir()):
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes(), path.name


def _errors(architectures: dict[str, Converted], backend: str) -> dict[str, float]:
    """Each model's worst error relative to its bound (<= 1 passes) on ``backend``; all models in one TF.js process."""
    from tfjs_build.verify.runner import run_batch_in_tfjs

    results = run_batch_in_tfjs([(entry.out_dir, entry.inputs) for entry in architectures.values()], backend)
    ratios = {}
    for (name, entry), got in zip(architectures.items(), results, strict=True):
        assert isinstance(got, dict), f"{name}: {got}"
        assert sorted(got) == sorted(entry.expected), name
        worst = 0.0
        for key, want in entry.expected.items():
            assert got[key].shape == want.shape, (name, key)
            error = float(np.max(np.abs(got[key].astype(np.float64) - want)))
            worst = max(worst, error / (1e-4 * (1.0 + float(np.max(np.abs(want))))))
            print(f"{name} {key} on {backend}: max |tfjs - tf| = {error:.3g}")  # the figures, with -s
        ratios[name] = worst
    return ratios


@pytest.mark.node
@pytest.mark.parametrize("backend", ["cpu", "wasm"])
def test_architectures_match_tensorflow_in_node(
    architectures: dict[str, Converted], backend: str, tfjs_available: Path
) -> None:
    ratios = _errors(architectures, backend)
    assert {name: ratio for name, ratio in ratios.items() if not ratio <= 1.0} == {}


@pytest.mark.browser
def test_architectures_match_tensorflow_on_webgl(architectures: dict[str, Converted], chromium: str) -> None:
    ratios = _errors(architectures, "webgl")
    assert {name: ratio for name, ratio in ratios.items() if not ratio <= 1.0} == {}
