"""TensorFlow's own outputs for a model source: what ``tfjs-build verify`` holds TF.js to.

Graph models run the frozen source graph (before any Grappler or TF.js pass), so a
mistake in folding, fusion, rewrites or weight encoding shows up as a difference.
Layers models run the Keras model itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfjs_build.checks.accuracy import sample_inputs
from tfjs_build.config import ModelConfig
from tfjs_build.errors import SourceError

Samples = list[dict[str, np.ndarray]]


def reference_run(model: ModelConfig, source: Path, work_dir: Path, samples: int, seed: int = 0
                  ) -> tuple[Samples, Samples]:
    """Sample inputs for ``model`` and TensorFlow's outputs on them, keyed as TF.js keys them."""
    if model.format == "layers":
        return _keras_run(model, source, work_dir, samples, seed)
    return _graph_run(model, source, samples, seed)


def _graph_run(model: ModelConfig, source: Path, samples: int, seed: int) -> tuple[Samples, Samples]:
    from tfjs_build.convert.freeze import freeze
    from tfjs_build.convert.graph.evaluate import input_specs, run_graph
    from tfjs_build.convert.graph.model_json import signature_of
    from tfjs_build.convert.load import load_source

    frozen = freeze(model, load_source(model, source))
    signature = signature_of(frozen, frozen.graph_def)
    inputs = sample_inputs(input_specs(signature), samples, seed, npz=model.accuracy.inputs, where=model.where("accuracy.inputs"))
    resources = (frozen.initializer, frozen.resource_inputs, frozen.initializer_outputs)
    return inputs, run_graph(frozen.graph_def, resources, signature, inputs)


def _keras_run(model: ModelConfig, source: Path, work_dir: Path, samples: int, seed: int) -> tuple[Samples, Samples]:
    from tfjs_build.convert.layers.pipeline import input_specs, load_keras_model, predict
    from tfjs_build.convert.layers.read import read_keras_file

    where = model.where("source")
    if not read_keras_file(source, where).keras3:
        raise SourceError(f"{where}: verify runs Keras 3 models only; this file was written by Keras 2")
    keras_model = load_keras_model(source, where, work_dir)
    specs = input_specs(keras_model)
    inputs = sample_inputs(specs, samples, seed, npz=model.accuracy.inputs, where=model.where("accuracy.inputs"))
    return inputs, [predict(keras_model, sample, specs) for sample in inputs]
