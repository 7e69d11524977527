"""Real builds (TensorFlow in the workers) on a broken cache folder and on a full disk: clear messages,
nothing built is lost, the previous outputs and tfjs.lock survive."""

from __future__ import annotations

from pathlib import Path

import pytest
from qa_project import assert_user_error, quickstart, snapshot, tfjs_build

from tfjs_build.engine.lockfile import LOCK_NAME


@pytest.mark.slow
def test_a_cache_that_cannot_be_written_does_not_lose_the_build(tmp_path: Path) -> None:
    project = quickstart(tmp_path, "cache: {dir: cache}\n")
    (project / "cache").write_text("a file where the cache folder goes", encoding="utf-8")
    run = tfjs_build(project, "build")
    assert run.code == 0, run.err
    assert "warning: digits-layers: built, but not stored in the cache: " in run.err
    assert "a file stands where tfjs-build needs a folder" in run.err
    assert (project / "dist" / "digits-layers" / "model.json").is_file()
    assert "digits-layers" in (project / LOCK_NAME).read_text(encoding="utf-8")


@pytest.mark.slow
def test_full_disk_keeps_previous_outputs_and_lock(tmpfs) -> None:
    small_disk = tmpfs.mount("2m")  # a real 2 MiB file system, so a full disk is the kernel's ENOSPC
    project = quickstart(small_disk / "project")
    assert tfjs_build(project, "build").code == 0
    before = snapshot(project)
    filler = small_disk / "filler"
    with open(filler, "wb", buffering=0) as handle:  # fill the disk to the last block
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    run = tfjs_build(project, "build", "--force")
    assert_user_error(run, "No space left on device; free some disk space and run it again")
    assert snapshot(project) == before
