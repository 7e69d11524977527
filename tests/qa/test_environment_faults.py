"""The machine refusing a file operation (a file where a folder must go, a full disk) is a user error
naming the path and the fix (exit 2), and leaves the previous outputs and tfjs.lock as they were."""

from __future__ import annotations

import shutil
from pathlib import Path

from projects import fresh_project
from qa_cli import assert_user_error, tfjs_build

from tfjs_build.engine.lockfile import LOCK_NAME


def test_output_dir_that_is_a_file(tmp_path: Path) -> None:
    project = fresh_project(tmp_path)
    shutil.rmtree(project / "dist")
    (project / "dist").write_text("not a folder", encoding="utf-8")
    lock = (project / LOCK_NAME).read_bytes()
    run = tfjs_build(project, "build")
    assert_user_error(run, f"{project / 'dist'}", "a file stands where tfjs-build needs a folder")
    assert (project / LOCK_NAME).read_bytes() == lock
    assert (project / "dist").read_text(encoding="utf-8") == "not a folder"


def test_state_dir_that_is_a_file(tmp_path: Path) -> None:
    project = fresh_project(tmp_path)
    shutil.rmtree(project / ".tfjs-build")
    (project / ".tfjs-build").write_text("", encoding="utf-8")
    assert_user_error(tfjs_build(project, "status"), f"{project / '.tfjs-build'}",
                      "a file stands where tfjs-build needs a folder; move or delete that file")
