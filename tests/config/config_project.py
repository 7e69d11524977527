"""A project folder with one source of each kind, and tfjs.yaml written into it, for the config tests.

A uniquely named module (not conftest) so test folders never import each other's helpers.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tfjs_build.config import Config, load_config
from tfjs_build.errors import ConfigError

# Every key, several forms of some; models from each kind of source (a SavedModel, a frozen graph, Keras, a URL).
EVERY_KEY = """\
    version: 1
    output_dir: out/models
    defaults:
      backends: [cpu, wasm]
      budgets: {size: 5MiB, shards: 8}
    models:
      mobilenet:
        source: sm
        input_format: saved_model
        format: graph
        signature: serving_default
        tags: [serve, gpu]
        quantize: {uint8: ["*/kernel"], float16: ["*"]}
        shard_size: 512KiB
        backends: [webgl, cpu, webgl]
        strip_debug_ops: false
        control_flow_v2: true
        metadata: {labels: labels.json, extra: labels.json}
        budgets: {transfer: 4MiB, params: 5000000}
        accuracy: {max_error: 0.01, samples: 4, inputs: samples.npz}
      frozen:
        source: frozen.pb
        outputs: [logits]
        quantize: uint16
      keras-net:
        source: net.keras
        format: layers
        split_weights_by_layer: true
        sha256: '0000000000000000000000000000000000000000000000000000000000000000'
      hub:
        source: https://example.com/model.tar.gz
        sha256: ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789
    cache: {dir: .cache/tfjs, max_size: 1GiB}
    publish:
      cdn: {type: s3, bucket: models}
    """


def make_project(root: Path) -> Path:
    """A SavedModel dir, a Keras file, a frozen graph, a metadata file and sample inputs (validation reads names only)."""
    (root / "sm").mkdir()
    (root / "sm" / "saved_model.pb").write_bytes(b"")
    (root / "net.keras").write_bytes(b"")
    (root / "frozen.pb").write_bytes(b"")
    (root / "labels.json").write_text("{}")
    (root / "samples.npz").write_bytes(b"")
    return root


def load(project: Path, text: str) -> Config:
    (project / "tfjs.yaml").write_text(textwrap.dedent(text))
    return load_config(project / "tfjs.yaml")


def error(project: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(project, text)
    return str(info.value)
