"""Session fixtures: the test models saved once (.keras and .h5), their Keras outputs, and a
``convert`` helper that runs the real converter from a tfjs.yaml."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tfjs_build.config import load_config
from tfjs_build.convert.result import ConvertResult

from . import models


@dataclass(frozen=True)
class Saved:
    """One saved model: its file, sample inputs keyed by input-layer name, Keras outputs in order."""

    path: Path
    inputs: dict[str, np.ndarray]
    outputs: list[np.ndarray]
    model: Any


@dataclass(frozen=True)
class Converted:
    out_dir: Path
    result: ConvertResult
    project: Path


def randomize(model: Any, seed: int) -> None:
    """Random weights everywhere (BN statistics too), so every weight matters to the outputs."""
    rng = np.random.default_rng(seed)
    values = []
    for weight in model.weights:
        shape = tuple(weight.shape)
        if "variance" in weight.name:
            values.append(rng.uniform(0.5, 1.5, shape).astype(np.float32))
        else:
            values.append(rng.normal(0.0, 0.5, shape).astype(np.float32))
    model.set_weights(values)
    for layer in model._flatten_layers():
        if type(layer).__name__ == "Normalization" and layer.input_mean is None:
            layer.finalize_state()  # Keras 3 computes with statistics copied from its weights when adapted


def sample_feeds(model: Any, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds = {}
    for tensor in model.inputs:
        shape = [2 if d is None else int(d) for d in tensor.shape]
        name = tensor._keras_history[0].name  # the input layer's name: what TF.js keys inputs by
        dtype = getattr(tensor.dtype, "name", str(tensor.dtype))
        feeds[name] = (rng.integers(0, 10, shape).astype(np.int32) if "int" in dtype
                       else rng.standard_normal(shape).astype(np.float32))
    return feeds


def predict(model: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    arrays = list(feeds.values())
    out = model.predict(arrays if len(arrays) > 1 else arrays[0], verbose=0)
    return [np.asarray(o) for o in (out if isinstance(out, list) else [out])]


@pytest.fixture(scope="session")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Saved]:
    """Every test model, saved as ``<name>.keras`` and ``<name>.h5`` (Keras 3), and ``<name>.h5`` (Keras 2)."""
    folder = tmp_path_factory.mktemp("keras_models")
    found: dict[str, Saved] = {}
    for seed, (name, build) in enumerate(models.KERAS3_MODELS.items()):
        model = build()
        randomize(model, seed)
        feeds = sample_feeds(model, seed)
        outputs = predict(model, feeds)
        for suffix in (".keras", ".h5"):
            path = folder / f"{name}{suffix}"
            model.save(path)
            found[path.name] = Saved(path, feeds, outputs, model)
    for seed, (name, build) in enumerate(models.KERAS2_MODELS.items(), start=100):
        model = build()
        randomize(model, seed)
        path = folder / f"{name}.h5"
        model.save(path)
        feeds = sample_feeds(model, seed)
        found[path.name] = Saved(path, feeds, predict(model, feeds), model)
    return found


@pytest.fixture(name="convert")
def convert_fixture(tmp_path: Path) -> Callable[..., Converted]:
    """Convert ``source`` with extra tfjs.yaml model keys (YAML lines) and ``files``, in a fresh project."""
    from tfjs_build.convert.layers.pipeline import convert_layers_model

    def run(source: Path, extra: str = "", name: str = "m", files: dict[str, str] | None = None) -> Converted:
        project = tmp_path / f"project_{name}"
        project.mkdir()
        for filename, text in (files or {}).items():
            (project / filename).write_text(text)
        shutil.copy(source, project / source.name)
        lines = "".join(f"    {line}\n" for line in extra.splitlines() if line)
        (project / "tfjs.yaml").write_text(
            f"version: 1\nmodels:\n  {name}:\n    source: {source.name}\n    format: layers\n{lines}")
        model = load_config(project / "tfjs.yaml").model(name)
        out_dir, work_dir = project / "out", project / "work"
        out_dir.mkdir()
        work_dir.mkdir()
        return Converted(out_dir, convert_layers_model(model, project / source.name, out_dir, work_dir), project)

    return run


def converts_only_on(convert: Callable[..., Converted], keras_model: Any, folder: Path, refusal: str,
                     backends: str) -> Converted:
    """``keras_model`` (saved into ``folder``) is refused on every backend with a message matching ``refusal``,
    and converts once tfjs.yaml lists only ``backends`` (the fix such a message names)."""
    from tfjs_build.errors import UnsupportedModelError

    source = folder / f"{keras_model.name}.keras"
    keras_model.save(source)
    with pytest.raises(UnsupportedModelError, match=refusal):
        convert(source)
    return convert(source, f"backends: [{backends}]", name="narrowed")
