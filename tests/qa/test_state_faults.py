"""Local state that cannot be used (a stat cache that cannot be opened or saved) must not stop a command:
it is only a cache."""

from __future__ import annotations

from pathlib import Path

from qa_project import make_project, tfjs_build


def test_status_runs_when_the_stat_cache_cannot_be_opened(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / ".tfjs-build" / "stat.sqlite").unlink()
    (project / ".tfjs-build" / "stat.sqlite").mkdir()  # sqlite cannot open it, nor delete it
    run = tfjs_build(project, "status")
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    assert "digits" in run.out
