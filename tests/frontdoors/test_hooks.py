"""The pre-commit hooks (run by the real ``pre-commit try-repo``) and the plain git hooks (run by git).

Every run has a poisoned ``tensorflow`` first on PYTHONPATH that leaves a mark when
imported: the hooks are no-op paths and must never load TensorFlow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from no_tensorflow import poison_tensorflow

REPO_ROOT = Path(__file__).resolve().parents[2]

PUBLISH = "  x:\n    type: http\n    url: http://127.0.0.1:9\n"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    pythonpath, mark = poison_tensorflow(tmp_path)
    yield {**os.environ, **GIT_ENV, "PYTHONPATH": str(pythonpath), "PRE_COMMIT_HOME": str(tmp_path / "pc-home"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1"}
    assert not mark.exists(), "a hook imported tensorflow"


def git(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def committed_project(project, env: dict[str, str], size: str) -> None:
    project.write_config(PUBLISH, models=("alpha",), model_yaml=f"budgets: {{size: {size}}}")
    project.build("alpha")
    (project.root / ".gitignore").write_text(".tfjs-build/\n")  # tfjs-build's local state (stat cache)
    git(project.root, env, "init", "-q", "-b", "main")
    git(project.root, env, "add", ".")
    assert git(project.root, env, "commit", "-q", "-m", "models").returncode == 0


@pytest.fixture
def hook_repo(tmp_path: Path, env: dict[str, str]) -> Path:
    """A hook repository made of this checkout's hook files only (what pre-commit reads of it)."""
    repo = tmp_path / "hook-repo"
    repo.mkdir()
    shutil.copy(REPO_ROOT / ".pre-commit-hooks.yaml", repo)
    shutil.copytree(REPO_ROOT / "hooks", repo / "hooks")
    git(repo, env, "init", "-q")
    git(repo, env, "add", ".")
    git(repo, env, "commit", "-q", "-m", "hooks")
    return repo


def try_repo(project, hook_repo: Path, env: dict[str, str], hook: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "pre-commit"), "try-repo", str(hook_repo), hook,
                           "--all-files"], cwd=project.root, env=env, capture_output=True, text=True, timeout=300)


def test_pre_commit_check_hook_passes_then_fails_on_a_budget(project, hook_repo, env):
    committed_project(project, env, "1MiB")
    result = try_repo(project, hook_repo, env, "tfjs-build-check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tfjs-build check (op support, size budgets)" in result.stdout and "Passed" in result.stdout

    committed_project(project, env, "1KiB")
    result = try_repo(project, hook_repo, env, "tfjs-build-check")
    assert result.returncode == 1
    assert "Failed" in result.stdout
    assert "tfjs.yaml:5:21: models.alpha.budgets.size: 2.3 kB is over the limit of 1.0 kB" in result.stdout


def test_pre_commit_fresh_hook_fails_when_the_config_changed_after_the_build(project, hook_repo, env):
    committed_project(project, env, "1MiB")
    assert try_repo(project, hook_repo, env, "tfjs-build-fresh").returncode == 0

    project.write_config(PUBLISH, models=("alpha",), model_yaml="quantize: uint8")
    result = try_repo(project, hook_repo, env, "tfjs-build-fresh")
    assert result.returncode == 1
    assert "stale  alpha  config changed: quantize" in result.stdout, result.stdout
    assert "run `tfjs-build -C . build` and commit tfjs.lock" in result.stdout


def test_git_hooks_block_a_commit_over_budget_and_a_push_of_a_stale_lock(project, env, tmp_path):
    committed_project(project, env, "1MiB")
    remote = tmp_path / "remote.git"
    git(tmp_path, env, "init", "-q", "--bare", str(remote))
    git(project.root, env, "remote", "add", "origin", str(remote))
    git(project.root, env, "config", "core.hooksPath", str(REPO_ROOT / "hooks"))

    project.write_config(PUBLISH, models=("alpha",), model_yaml="budgets: {size: 1KiB}")
    project.build("alpha")
    git(project.root, env, "add", ".")
    result = git(project.root, env, "commit", "-q", "-m", "tighter budget")
    assert result.returncode != 0
    assert "models.alpha.budgets.size: 2.3 kB is over the limit of 1.0 kB" in result.stdout + result.stderr

    project.write_config(PUBLISH, models=("alpha",), model_yaml="quantize: uint8")  # not rebuilt: stale
    git(project.root, env, "add", ".")
    assert git(project.root, env, "commit", "-q", "-m", "quantize").returncode == 0  # budgets fine
    result = git(project.root, env, "push", "-q", "origin", "main")
    assert result.returncode != 0
    assert "stale  alpha  config changed: quantize" in result.stderr

    project.build("alpha")
    git(project.root, env, "add", ".")
    assert git(project.root, env, "commit", "-q", "-m", "rebuilt").returncode == 0
    result = git(project.root, env, "push", "-q", "origin", "main")
    assert result.returncode == 0, result.stderr
