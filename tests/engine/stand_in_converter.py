"""A stand-in converter for engine tests: deterministic, instant, and free of TensorFlow.

The engine (planning, cache, lock, atomic placement, workers) does not care what a
converter does inside, only that it fills ``out_dir`` and returns a ConvertResult, so
these tests use this instead of the real one (which the slow tests use). It lives in
its own module so that spawned worker processes can import it by name.

Environment knobs (inherited by the workers):
  STAND_IN_LOG   append "<model>\n" to this file on every conversion (to count them)
  STAND_IN_GATE  a folder: write "<model>.started" there (holding the worker's pid), then wait until "release"
                 appears
  STAND_IN_DIE   a model name: its worker process kills itself (SIGKILL) as it starts converting that model, as
                 the kernel's out-of-memory killer or a crash in native code would
  STAND_IN_EDIT  "MODEL:HOW": when converting MODEL, first change its source as a user might mid-build,
                 then read it; HOW is rewrite (same size, in place, mtime put back), revert (rewrite, read,
                 write the old bytes back, mtime put back), replace (os.replace by other bytes) or add
                 (a new file in the SavedModel folder)
A source containing the bytes ``FAIL`` raises a user error, as a model TF.js cannot run would.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path

from tfjs_build.config import ModelConfig
from tfjs_build.convert.result import ConvertResult, WeightInfo
from tfjs_build.errors import UnsupportedModelError


def _source_bytes(source: Path) -> bytes:
    files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
    return b"".join(p.read_bytes() for p in files)


EDITED_DATA = "variables/variables.data-00000-of-00001"  # what is edited in a SavedModel folder
ADDED_FILE = "assets/extra.txt"


def _write_in_place(path: Path, data: bytes, mtime_ns: int) -> None:
    """Overwrite ``path``'s bytes on the same inode, then put its mtime back: only its ctime tells."""
    with open(path, "r+b") as handle:
        handle.write(data)
        handle.truncate()
    os.utime(path, ns=(mtime_ns, mtime_ns))


def _edit_source(source: Path, how: str) -> Callable[[], None]:
    """Change ``source`` the way ``how`` says; returns what to do once it has been read."""
    if how == "add":
        (source / ADDED_FILE).parent.mkdir(exist_ok=True)
        (source / ADDED_FILE).write_bytes(b"added while the build converted")
        return lambda: None
    target = source if source.is_file() else source / EDITED_DATA
    old, mtime_ns = target.read_bytes(), target.stat().st_mtime_ns
    if how == "replace":
        target.with_name(target.name + ".new").write_bytes(old + b"replaced")
        os.replace(target.with_name(target.name + ".new"), target)
        return lambda: None
    _write_in_place(target, bytes(byte ^ 0xFF for byte in old), mtime_ns)
    if how == "revert":
        return lambda: _write_in_place(target, old, mtime_ns)
    assert how == "rewrite", how
    return lambda: None


def replace_then_convert(model: ModelConfig, source: Path, out_dir: Path, work_dir: Path) -> ConvertResult:
    """The real converter, once the source file has been replaced (os.replace) by a copy of $STAND_IN_REPLACEMENT."""
    from tfjs_build.convert import convert_model

    if replacement := os.environ.get("STAND_IN_REPLACEMENT"):
        shutil.copyfile(replacement, source.with_name(source.name + ".new"))
        os.replace(source.with_name(source.name + ".new"), source)
    return convert_model(model, source, out_dir, work_dir)


def _wait_at_gate(gate: Path, name: str) -> None:
    """Say this conversion has started, then wait (at most 60 s) for the test to release it. Ctrl-C is held
    back meanwhile, as TensorFlow's native code does not see it until it returns."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    (gate / f"{name}.started").write_text(str(os.getpid()), encoding="utf-8")
    deadline = time.monotonic() + 60
    while not (gate / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def convert(model: ModelConfig, source: Path, out_dir: Path, work_dir: Path) -> ConvertResult:
    if log := os.environ.get("STAND_IN_LOG"):
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(model.name + "\n")
    if os.environ.get("STAND_IN_DIE") == model.name:
        os.kill(os.getpid(), signal.SIGKILL)
    edited, _, how = os.environ.get("STAND_IN_EDIT", "").partition(":")
    after_reading = _edit_source(source, how) if edited == model.name else lambda: None
    data = _source_bytes(source)
    after_reading()
    if b"FAIL" in data:
        raise UnsupportedModelError(f"{model.where('source')}: the stand-in refuses sources containing FAIL")
    weights = hashlib.sha256(data + json.dumps(model.output_settings(), sort_keys=True).encode()).digest() * 8
    (out_dir / "group1-shard1of1.bin").write_bytes(weights)
    if gate := os.environ.get("STAND_IN_GATE"):
        _wait_at_gate(Path(gate), model.name)
    manifest = [{"paths": ["group1-shard1of1.bin"], "weights": [{"name": "w", "shape": [64], "dtype": "float32"}]}]
    model_json = {"format": "graph-model", "modelTopology": {}, "weightsManifest": manifest}
    (out_dir / "model.json").write_text(json.dumps(model_json, sort_keys=True), encoding="utf-8")
    return ConvertResult(params=64, ops=("Const", "Identity"), weights=(WeightInfo("w", (64,), "float32", 256),))
