"""The only entry into TensorFlow: convert one model's source into a TF.js model folder.

Importing this package does not import tensorflow (a no-op build must stay fast):
the converters are imported inside ``convert_model``, in the worker that runs it.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from tfjs_build.config import ModelConfig
from tfjs_build.convert.result import ConvertResult
from tfjs_build.errors import SourceError
from tfjs_build.sources.detect import detect_input_format

# TensorFlow's C++ start-up chatter (CUDA probing, CPU features) is noise in a build log;
# set before any module of this package imports tensorflow. Users can still override it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def convert_model(model: ModelConfig, source: Path, out_dir: Path, work_dir: Path) -> ConvertResult:
    """Fill the empty ``out_dir`` with model.json and shards; ``format`` picks graph or layers."""
    model = _resolve_input_format(model, source)
    if model.format == "layers":
        from tfjs_build.convert.layers.pipeline import convert_layers_model  # noqa: PLC0415

        return convert_layers_model(model, source, out_dir, work_dir)
    from tfjs_build.convert.graph.pipeline import convert_graph_model  # noqa: PLC0415

    return convert_graph_model(model, source, out_dir, work_dir)


def _resolve_input_format(model: ModelConfig, source: Path) -> ModelConfig:
    """URL sources keep ``input_format: auto`` until their archive is extracted: decide now."""
    if model.input_format != "auto":
        return model
    detected, found = detect_input_format(source)
    if detected is None:
        raise SourceError(f"{model.where('source')}: cannot tell the input format: found {found}; set `input_format:`")
    return dataclasses.replace(model, input_format=detected)
