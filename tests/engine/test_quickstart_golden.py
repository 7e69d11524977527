"""The bundled quickstart builds to exactly the committed ``examples/quickstart/tfjs.lock``.

The lock holds the sha256 of every output file, so an equal lock means byte-identical
model.json and shards. It guards refactors (the stage-package restructure was checked
against it) and any change to the converter's output: when a change is *meant* to alter
the output, rebuild the quickstart and commit its new tfjs.lock in the same commit.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_process import run_cli

from tfjs_build.engine.lockfile import parse_lock, render_lock

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


@pytest.mark.slow
def test_quickstart_builds_to_the_committed_lock(tmp_path: Path) -> None:
    project = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns("dist", ".tfjs-build", "tfjs.lock"))
    result = run_cli("--no-color", "-C", str(project), "build", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    built = (project / "tfjs.lock").read_text(encoding="utf-8")
    committed = (QUICKSTART / "tfjs.lock").read_text(encoding="utf-8")
    assert built == committed, "quickstart output changed; if intended, commit its new tfjs.lock"


def test_the_committed_lock_reads_and_writes_back_byte_identical() -> None:
    """The typed entries (weights, quantization, accuracy records) write exactly the JSON they were read from."""
    committed = (QUICKSTART / "tfjs.lock").read_text(encoding="utf-8")
    lock = parse_lock(committed, "examples/quickstart/tfjs.lock")
    assert all(entry.weights for entry in lock.models.values())
    assert any(entry.accuracy is not None and entry.quantization for entry in lock.models.values())
    assert render_lock(lock) == committed
