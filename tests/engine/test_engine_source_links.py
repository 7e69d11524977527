"""What the converter reads is what is fingerprinted (issue 13.8): TensorFlow follows symlinks in a SavedModel
folder, so the fingerprint does too, inside the project; a link out of the project, a loop, a broken link or a
FIFO (which hung `status`) is a clear error naming the file and the model (exit 2)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from projects import DATA_FILE, age
from stand_in_runs import run_build, stand_in_cli

from tfjs_build.engine.fingerprint import hash_file


def _move_out(project: Path, folder: str, dest: Path) -> None:
    """Put ``folder`` of model alpha at ``dest`` and leave a symlink to it in its place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(project / "models/alpha" / folder, dest)
    (project / "models/alpha" / folder).symlink_to(os.path.relpath(dest, project / "models/alpha"))


@pytest.mark.parametrize("command", ["status", "build"])
def test_a_link_out_of_the_project_is_refused(project: Path, tmp_path: Path, command: str) -> None:
    _move_out(project, "variables", tmp_path / "outside" / "variables")
    run = stand_in_cli(project, command)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "models.alpha.source: models/alpha/variables is a symlink to " in run.stderr
    assert f"outside the project ({project})" in run.stderr and "copy those files into the project" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_link_inside_the_project_is_fingerprinted_through(project: Path) -> None:
    _move_out(project, "variables", project / "shared" / "variables")
    assert run_build(project).built == ["alpha", "beta"]
    data = project / "shared/variables" / DATA_FILE.rpartition("/")[2]
    data.write_bytes(data.read_bytes()[::-1])  # the bytes TensorFlow reads through the link
    age(project)
    run = stand_in_cli(project, "status")
    assert run.returncode == 0, run.stderr
    assert f"stale  alpha  source changed: {DATA_FILE}" in run.stdout


def test_a_link_loop_is_refused(project: Path) -> None:
    (project / "models/alpha/variables/again").symlink_to("..")
    run = stand_in_cli(project, "status")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "models/alpha/variables/again is a symlink to " in run.stderr and "(a loop); remove the link" in run.stderr


def test_a_broken_link_is_named(project: Path) -> None:
    (project / "models/alpha/variables/gone").symlink_to("nowhere")
    run = stand_in_cli(project, "status")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "models/alpha/variables/gone is a broken symlink (to nowhere)" in run.stderr


@pytest.mark.parametrize("command", ["status", "build"])
def test_a_fifo_in_a_saved_model_is_refused_not_read(project: Path, command: str) -> None:
    os.mkfifo(project / "models/alpha/variables/pipe")
    run = stand_in_cli(project, command, timeout=60)  # it hung for ever when the FIFO was read
    assert run.returncode == 2, run.stdout + run.stderr
    assert ("models.alpha.source: models/alpha/variables/pipe is a FIFO (named pipe), not a regular file"
            in run.stderr)


def test_hashing_a_fifo_fails_at_once(tmp_path: Path) -> None:
    """A file swapped for a FIFO after it was listed: the hash refuses it instead of blocking on the read."""
    os.mkfifo(tmp_path / "pipe")
    code = "import sys, pathlib; from tfjs_build.engine.fingerprint import hash_file; hash_file(pathlib.Path(sys.argv[1]))"
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "pipe")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "SourceError" in run.stderr and "not a regular file (a FIFO or device?)" in run.stderr
    (tmp_path / "file").write_bytes(b"abc")
    assert hash_file(tmp_path / "file") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
