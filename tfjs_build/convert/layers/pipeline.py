"""``format: layers``: a Keras 2 or Keras 3 model -> a folder ``tf.loadLayersModel`` loads.

Steps: read the file's config (``layers_read``), translate and check it against what
tfjs-layers 4.22 supports (``layers_translate``; fails before anything is written), get
the weights under tfjs-layers' names and in its ``model.weights`` order (``layers_weights``),
write them with the shared writer (``tfjs_build.tfjs_format.weights``), and, when quantizing, measure
Keras with the dequantized weights against Keras with the original ones (Keras 3 models,
and Keras 2 models when tf_keras is installed).

No ``training_config``: tfjs-layers ignores the one inside ``modelTopology``, and users
compile in JavaScript (``model.compile``) before ``fit``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tfjs_build import __version__
from tfjs_build.checks.accuracy import compare_outputs, sample_inputs
from tfjs_build.config import ModelConfig
from tfjs_build.convert.layers.normalization import fill_normalizations, keras3_statistics
from tfjs_build.convert.layers.read import KerasFile, read_keras_file
from tfjs_build.convert.layers.translate import Context, translate_model
from tfjs_build.convert.layers.weights import (
    NamedWeight,
    keras2_h5_weights,
    keras3_weights,
    split_statistics,
    tfjs_order,
)
from tfjs_build.convert.result import AccuracyFigures, ConvertResult
from tfjs_build.errors import SourceError, TfjsBuildError, UnsupportedModelError
from tfjs_build.tfjs_format.quantize import resolve_quantization
from tfjs_build.tfjs_format.weights import WrittenWeights, write_model_json, write_weights


def convert_layers_model(model: ModelConfig, source: Path, out_dir: Path, work_dir: Path) -> ConvertResult:
    """Write model.json and shards for ``source`` (a .keras or .h5 file) into ``out_dir``."""
    where = model.where("source")
    keras_file = read_keras_file(source, where)
    context = Context(where, keras_file.keras3, model.backends, model.where("backends"))
    topology = translate_model(keras_file.model_config, context)
    metadata = _user_metadata(model)
    keras_model = load_keras_model(source, where, work_dir) if keras_file.keras3 else None
    if keras_model is not None:
        file_weights, statistics = keras3_weights(keras_model), keras3_statistics(keras_model)
    else:
        file_weights, statistics = split_statistics(keras2_h5_weights(source, topology, where),
                                                    context.normalizations)
    fill_normalizations(topology, context, statistics, where)
    weights = tfjs_order(file_weights)
    _check_unique(weights, where)
    quantize, warnings = resolve_quantization(model.quantize, [w.name for w in weights], model.where("quantize"))
    written = write_weights(_groups(weights, model.split_weights_by_layer), out_dir,
                            shard_size=model.shard_size, quantize=quantize)
    accuracy = _measure(model, source, keras_model, file_weights, written, warnings) if written.quantized else None
    write_model_json(out_dir, _model_json(keras_file, topology, metadata, written))
    return ConvertResult(
        params=sum(int(w.value.size) for w in weights),
        ops=(),  # a layers model runs tfjs-layers classes, not TF ops
        weights=written.weights,
        quantization=written.quantization,
        accuracy=accuracy,
        warnings=tuple(warnings),
    )


def _measure(model: ModelConfig, source: Path, keras_model: Any, file_weights: list[NamedWeight],
             written: WrittenWeights, warnings: list[str]) -> AccuracyFigures | None:
    """The accuracy gate's figures, or None (with a warning) when the model cannot be run here."""
    if keras_model is None:
        keras_model, file_weights = _load_tf_keras(source, file_weights)
    if keras_model is None:
        warnings.append(f"{model.where('quantize')}: accuracy not measured: running a Keras 2 .h5 model needs "
                        "tf_keras (pip install tf_keras), or save the model as .keras with Keras 3")
        return None
    return _accuracy(model, keras_model, file_weights, written)


def _model_json(keras_file: KerasFile, topology: dict[str, Any], metadata: dict[str, Any],
                written: WrittenWeights) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": "layers-model",
        "generatedBy": f"keras v{keras_file.keras_version}",
        "convertedBy": f"tfjs-build {__version__}",
    }
    if metadata:
        data["userDefinedMetadata"] = metadata
    data["modelTopology"] = {
        "keras_version": keras_file.keras_version,
        "backend": "tensorflow",
        "model_config": topology,
    }
    data["weightsManifest"] = written.manifest
    return data


def _user_metadata(model: ModelConfig) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for key, path in model.metadata:
        try:
            metadata[key] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TfjsBuildError(f"{model.where(f'metadata.{key}')}: cannot read {path} as JSON ({exc}); "
                                 "metadata values must be JSON files") from None
    return metadata


def load_keras_model(source: Path, where: str, work_dir: Path) -> Any:
    """Load with Keras from a symlink (or copy) in ``work_dir``: when memory looks short, Keras
    extracts a .keras archive's weights into a temporary folder next to the file it loads.
    Not a hard link: linking changes the source's ctime, which the build reads as an edit."""
    import keras  # noqa: PLC0415  (tensorflow only inside convert/, and only when converting)

    staged = work_dir / f"source{source.suffix}"
    staged.unlink(missing_ok=True)
    try:
        os.symlink(source.resolve(), staged)
    except OSError:
        shutil.copyfile(source, staged)
    try:
        return keras.saving.load_model(str(staged), compile=False, safe_mode=True)
    except (ValueError, TypeError, OSError, KeyError) as exc:
        raise SourceError(f"{where}: Keras {keras.__version__} cannot load {source}: {exc}; check that it loads "
                          "with keras.saving.load_model in the Keras version that saved it") from None


def _load_tf_keras(source: Path, weights: list[NamedWeight]) -> tuple[Any, list[NamedWeight]]:
    """A Keras 2 model to run for the accuracy gate (when tf_keras is installed), its variables
    attached to ``weights`` (in file order: the .h5 file lists ``model.layers`` / ``layer.weights``)."""
    try:
        import tf_keras  # noqa: PLC0415  (optional: only Keras 2 users have it)
    except ImportError:
        return None, weights
    keras_model = tf_keras.models.load_model(str(source), compile=False)
    variables = [variable for layer in keras_model.layers if type(layer).__name__ != "Normalization"
                 for variable in layer.weights]  # a Normalization's statistics are options, not tfjs weights
    shapes = [tuple(v.shape) for v in variables]
    if shapes != [w.value.shape for w in weights]:
        return None, weights
    return keras_model, [dataclasses.replace(w, variable=v) for w, v in zip(weights, variables, strict=True)]


def _check_unique(weights: list[NamedWeight], where: str) -> None:
    seen: set[str] = set()
    for weight in weights:
        if weight.name in seen:
            raise UnsupportedModelError(
                f"{where}: two weights would both be named {weight.name!r}: tfjs-layers names weights by layer "
                f"name only, so layers in nested models must have unique names. Fix: rename one of the "
                f"{weight.layer!r} layers (name=...) and save the model again")
        seen.add(weight.name)


def _groups(weights: list[NamedWeight], by_layer: bool) -> list[Iterator[tuple[str, np.ndarray]]]:
    if not by_layer:
        return [iter([(w.name, w.value) for w in weights])]
    layers: dict[str, list[tuple[str, np.ndarray]]] = {}
    for weight in weights:
        layers.setdefault(weight.layer, []).append((weight.name, weight.value))
    return [iter(group) for group in layers.values()]


def _accuracy(model: ModelConfig, keras_model: Any, weights: list[NamedWeight], written: WrittenWeights
              ) -> AccuracyFigures:
    """Keras with TF.js's dequantized weights vs Keras with the originals, on sample inputs."""
    specs = input_specs(keras_model)
    samples = sample_inputs(specs, model.accuracy.samples, npz=model.accuracy.inputs, where=model.where("accuracy.inputs"))
    reference = [predict(keras_model, sample, specs) for sample in samples]
    variables = {w.name: w.variable for w in weights}
    for name, value in written.dequantized().items():
        variables[name].assign(value.astype(np.float32))
    try:
        candidate = [predict(keras_model, sample, specs) for sample in samples]
    finally:
        for weight in weights:
            variables[weight.name].assign(weight.value)
    return compare_outputs(reference, candidate)


def input_specs(keras_model: Any) -> list[tuple[str, str, list[int | None]]]:
    return [(t.name, getattr(t.dtype, "name", None) or str(t.dtype), list(t.shape)) for t in keras_model.inputs]


def predict(keras_model: Any, sample: dict[str, np.ndarray], specs: list[tuple[str, str, list[int | None]]]
             ) -> dict[str, np.ndarray]:
    inputs = [sample[name] for name, _, _ in specs]
    outputs = keras_model(inputs if len(inputs) > 1 else inputs[0], training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return {f"output_{i}": np.asarray(out) for i, out in enumerate(outputs)}

