"""A stand-in converter for engine tests: deterministic, instant, and free of TensorFlow.

The engine (planning, cache, lock, atomic placement, workers) does not care what a
converter does inside, only that it fills ``out_dir`` and returns a ConvertResult, so
these tests use this instead of the real one (which the slow tests use). It lives in
its own module so that spawned worker processes can import it by name.

Environment knobs (inherited by the workers):
  STAND_IN_LOG   append "<model>\n" to this file on every conversion (to count them)
  STAND_IN_GATE  a folder: write "<model>.started" there, then wait until "release" appears
A source containing the bytes ``FAIL`` raises a user error, as a model TF.js cannot run would.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from tfjs_build.config import ModelConfig
from tfjs_build.errors import UnsupportedModelError
from tfjs_build.records import ConvertResult, WeightInfo


def _source_bytes(source: Path) -> bytes:
    files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
    return b"".join(p.read_bytes() for p in files)


def convert(model: ModelConfig, source: Path, out_dir: Path, work_dir: Path) -> ConvertResult:
    if log := os.environ.get("STAND_IN_LOG"):
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(model.name + "\n")
    data = _source_bytes(source)
    if b"FAIL" in data:
        raise UnsupportedModelError(f"{model.where('source')}: the stand-in refuses sources containing FAIL")
    weights = hashlib.sha256(data + json.dumps(model.output_settings(), sort_keys=True).encode()).digest() * 8
    (out_dir / "group1-shard1of1.bin").write_bytes(weights)
    if gate := os.environ.get("STAND_IN_GATE"):
        Path(gate, f"{model.name}.started").touch()
        deadline = time.monotonic() + 60
        while not Path(gate, "release").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    manifest = [{"paths": ["group1-shard1of1.bin"], "weights": [{"name": "w", "shape": [64], "dtype": "float32"}]}]
    model_json = {"format": "graph-model", "modelTopology": {}, "weightsManifest": manifest}
    (out_dir / "model.json").write_text(json.dumps(model_json, sort_keys=True), encoding="utf-8")
    return ConvertResult(params=64, ops=("Const", "Identity"), weights=(WeightInfo("w", (64,), "float32", 256),))
