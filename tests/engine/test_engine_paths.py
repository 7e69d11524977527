"""ProjectPaths names every file tfjs-build owns; asking for one creates nothing, ensure_state_dir creates the
state folder, which git then ignores (real git)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tfjs_build.project import ProjectPaths


def test_asking_for_paths_creates_nothing(tmp_path: Path) -> None:
    paths = ProjectPaths(tmp_path)
    named = [paths.lock, paths.state_dir, paths.gitignore, paths.stat_cache, paths.build_mutex, paths.work_dir,
             paths.default_cache_dir]
    assert all(path.is_relative_to(tmp_path) for path in named)
    assert len(set(named)) == len(named)
    assert list(tmp_path.iterdir()) == []


def test_the_state_dir_ignores_itself_in_git(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    paths = ProjectPaths(tmp_path)
    assert paths.ensure_state_dir() == paths.state_dir
    paths.stat_cache.write_bytes(b"state")
    paths.lock.write_text("{}", encoding="utf-8")
    untracked = subprocess.run(["git", "-C", str(tmp_path), "status", "--porcelain", "--untracked-files=all"],
                               capture_output=True, text=True, check=True).stdout.split()
    assert untracked == ["??", "tfjs.lock"]
