"""A tiny project on disk for running the real CLI against hostile input (no TensorFlow needed).

A uniquely named module (not conftest) so test folders never import each other's helpers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfjs_build import CONVERTER_VERSION
from tfjs_build.config import load_config
from tfjs_build.engine.lockfile import LOCK_NAME, Lock, LockEntry, OutputFile, write_lock
from tfjs_build.engine.plan import current_plan

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
QUICKSTART_CONFIG = """\
version: 1
output_dir: dist
models:
  digits-layers:
    source: models/digits.keras
    format: layers
"""
CONFIG = """\
version: 1
output_dir: dist
models:
  digits:
    source: models/digits
    metadata: {labels: labels.json}
"""


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def make_project(root: Path) -> Path:
    """tfjs.yaml, a stand-in SavedModel folder (validation only looks for saved_model.pb), a metadata file, a
    built model.json and a tfjs.lock in which ``digits`` is fresh (as a build would leave them)."""
    (root / "models" / "digits").mkdir(parents=True)
    (root / "models" / "digits" / "saved_model.pb").write_bytes(b"")
    (root / "labels.json").write_text('["zero", "one"]', encoding="utf-8")
    (root / "tfjs.yaml").write_text(CONFIG, encoding="utf-8")
    model_json = b'{"format": "graph-model", "modelTopology": {}, "weightsManifest": []}'
    (root / "dist" / "digits").mkdir(parents=True)
    (root / "dist" / "digits" / "model.json").write_bytes(model_json)
    config = load_config(root / "tfjs.yaml")
    (step,) = current_plan(config, Lock({}))
    entry = LockEntry(
        fingerprint=step.inputs.fingerprint, converter=CONVERTER_VERSION, inputs=dict(step.inputs.digests),
        settings=config.model("digits").output_settings(),
        files=(OutputFile("model.json", len(model_json), hashlib.sha256(model_json).hexdigest()),),
        size=len(model_json), transfer=len(model_json), transfer_brotli=None, shards=0, params=0, ops=("Identity",),
    )
    write_lock(root / LOCK_NAME, Lock({"digits": entry}))
    return root


def quickstart(root: Path, extra: str = "") -> Path:
    """The bundled example's real Keras model (tens of KB), built as a layers model; ``extra`` is appended to
    tfjs.yaml."""
    (root / "models").mkdir(parents=True)
    shutil.copy(QUICKSTART / "models" / "digits.keras", root / "models" / "digits.keras")
    (root / "tfjs.yaml").write_text(QUICKSTART_CONFIG + extra, encoding="utf-8")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """tfjs.lock and every output file, by path: what an interrupted or failed build must leave alone
    (not the builder's hidden temp folders, which the next build removes)."""
    files = [root / LOCK_NAME, *(root / "dist").rglob("*")]
    return {str(p.relative_to(root)): p.read_bytes() for p in files
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)}


def lock_data(root: Path) -> dict[str, Any]:
    return json.loads((root / LOCK_NAME).read_text(encoding="utf-8"))


def write_lock_data(root: Path, data: Any) -> None:
    (root / LOCK_NAME).write_text(json.dumps(data), encoding="utf-8")


def tfjs_build(root: Path, *args: str) -> Run:
    """The real command line, in a separate process, as a user runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "tfjs_build", "--no-color", "-C", str(root), *args],
        capture_output=True, text=True, timeout=120,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def assert_user_error(run: Run, *fragments: str) -> None:
    """Exit 2, no traceback, and every fragment in the message."""
    assert run.code == 2, (run.code, run.err)
    assert "Traceback" not in run.err, run.err
    for fragment in fragments:
        assert fragment in run.err, (fragment, run.err)


def group_ends(group: int, within: float) -> bool:
    """Whether process group ``group`` is empty within ``within`` seconds (exited workers may be zombies
    for a moment until init reaps them)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
