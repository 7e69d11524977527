"""Local state that cannot be used (a stat cache that cannot be opened or saved) must not stop a command:
it is only a cache. Nor does a read-only project stop a command that has nothing to write."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from projects import fresh_project
from qa_cli import assert_user_error, tfjs_build


def test_status_runs_when_the_stat_cache_cannot_be_opened(tmp_path: Path) -> None:
    project = fresh_project(tmp_path)
    (project / ".tfjs-build" / "stat.sqlite").unlink()
    (project / ".tfjs-build" / "stat.sqlite").mkdir()  # sqlite cannot open it, nor delete it
    run = tfjs_build(project, "status")
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    assert "digits" in run.out


def _read_only_copy(tmpfs, with_state: bool) -> Path:
    """A project with a fresh model on a read-only file system: a CI checkout mounted ro, with or without the
    .tfjs-build/ an earlier command left."""
    disk = tmpfs.mount("16m")
    project = fresh_project(disk / "project")
    if not with_state:
        shutil.rmtree(project / ".tfjs-build")
    tmpfs.read_only(disk)
    return project


@pytest.mark.parametrize("with_state", [True, False], ids=["state-dir", "no-state-dir"])
@pytest.mark.parametrize("command", ["status", "check", "build"])
def test_reading_commands_work_in_a_read_only_project(tmpfs, with_state: bool, command: str) -> None:
    project = _read_only_copy(tmpfs, with_state)
    run = tfjs_build(project, command)
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    expected = {"status": "fresh  digits", "check": "digits", "build": "1 fresh"}[command]
    assert expected in run.out + run.err
    assert (project / ".tfjs-build").is_dir() == with_state


def test_a_build_with_work_to_do_in_a_read_only_project_says_so(tmpfs) -> None:
    disk = tmpfs.mount("16m")
    project = fresh_project(disk / "project")
    (project / "labels.json").write_text('["zero", "one", "two"]', encoding="utf-8")  # digits is stale now
    tmpfs.read_only(disk)
    assert_user_error(tfjs_build(project, "build"), "Read-only file system",
                      "run tfjs-build in a writable copy of the project", "stale: digits")
