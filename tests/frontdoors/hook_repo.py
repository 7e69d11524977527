"""This checkout as a hook repository pre-commit can install from, and a config that uses it.

pre-commit installs a hook repository from a git URL at a rev, so the working tree (HEAD plus
uncommitted changes: what is being tested) is copied file by file into a new repository and
committed there. Used by tests/frontdoors/test_hooks.py and bench/hooks.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
HOOK_IDS = ("tfjs-build-check", "tfjs-build-fresh")


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True,
                            timeout=120, check=True)
    return result.stdout


def snapshot_repo(dest: Path) -> str:
    """Copy the files of this checkout that git tracks or would track (not ignored), as they are on disk,
    into a new repository at ``dest``; returns its commit."""
    tracked = git(REPO_ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for rel in filter(None, tracked):
        source = REPO_ROOT / rel
        if source.is_file():  # a tracked file deleted in the working tree is left out
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "snapshot of the tfjs-build working tree")
    return git(dest, "rev-parse", "HEAD").strip()


def write_precommit_config(project: Path, repo: Path, rev: str, args: tuple[str, ...] = ()) -> None:
    """.pre-commit-config.yaml using both hooks from ``repo`` (a file:// URL) at ``rev``."""
    lines = ["repos:", f"  - repo: {repo.as_uri()}", f"    rev: {rev}", "    hooks:"]
    for hook in HOOK_IDS:
        lines.append(f"      - id: {hook}" + (f"\n        args: {list(args)}" if args else ""))
    (project / ".pre-commit-config.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
