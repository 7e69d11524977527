"""The pre-commit hooks, installed and run by the real ``pre-commit`` from a git URL of this repository,
and the plain git hooks (run by git).

pre-commit builds its own virtualenv from the hook repository (``language: python``): nothing of
tfjs-build is on PATH or PYTHONPATH, only a poisoned ``tensorflow`` that leaves a mark when imported
(the hooks never convert). The first install needs pip to reach PyPI; it happens once per session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from built_project import Project
from hook_repo import GIT_ENV, REPO_ROOT, snapshot_repo, write_precommit_config
from no_tensorflow import poison_tensorflow

PUBLISH = "  x:\n    type: http\n    url: http://127.0.0.1:9\n"
PRE_COMMIT = str(Path(sys.executable).parent / "pre-commit")


def path_without_tfjs_build() -> str:
    """$PATH minus every folder that holds a tfjs-build (this checkout's venv among them)."""
    return os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "tfjs-build").exists())


@pytest.fixture(scope="session")
def hook_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """(hook repository, its commit, PRE_COMMIT_HOME): shared, so pre-commit installs the hooks once."""
    root = tmp_path_factory.mktemp("hook-source")
    (root / "repo").mkdir()
    return root / "repo", snapshot_repo(root / "repo"), root / "pre-commit-home"


@pytest.fixture
def env(tmp_path: Path, hook_source) -> dict[str, str]:
    """For pre-commit: no tfjs-build on PATH, a poisoned tensorflow on PYTHONPATH, the shared PRE_COMMIT_HOME."""
    pythonpath, mark = poison_tensorflow(tmp_path)
    yield {**os.environ, **GIT_ENV, "PYTHONPATH": str(pythonpath), "PRE_COMMIT_HOME": str(hook_source[2]),
           "PATH": path_without_tfjs_build(), "NO_COLOR": "1"}
    assert not mark.exists(), "a hook imported tensorflow"


@pytest.fixture
def git_hook_env(tmp_path: Path) -> dict[str, str]:
    """For the plain git hooks: this checkout's tfjs-build first on PATH, a poisoned tensorflow on PYTHONPATH."""
    pythonpath, mark = poison_tensorflow(tmp_path)
    yield {**os.environ, **GIT_ENV, "PYTHONPATH": str(pythonpath), "NO_COLOR": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
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


def run_hook(project, env: dict[str, str], hook: str) -> subprocess.CompletedProcess:
    return subprocess.run([PRE_COMMIT, "run", hook, "--all-files"], cwd=project.root, env=env,
                          capture_output=True, text=True, timeout=900)


def test_pre_commit_installs_the_hooks_from_the_repository_and_they_pass_on_a_fresh_lock(project, hook_source, env):
    assert subprocess.run(["sh", "-c", "command -v tfjs-build"], env=env, capture_output=True).returncode != 0
    committed_project(project, env, "1MiB")
    write_precommit_config(project.root, hook_source[0], hook_source[1])
    for hook, name in (("tfjs-build-check", "tfjs-build check (op support, size budgets)"),
                       ("tfjs-build-fresh", "tfjs.lock up to date with tfjs.yaml and model sources")):
        result = run_hook(project, env, hook)
        assert result.returncode == 0, result.stdout + result.stderr
        assert name in result.stdout and "Passed" in result.stdout
    installed = list(hook_source[2].glob("repo*/py_env-*/bin/tfjs-build"))
    assert len(installed) == 1, "pre-commit installed tfjs-build into its own virtualenv"
    assert not list(installed[0].parent.parent.glob("lib/python*/site-packages/tensorflow")), "core only"


def test_pre_commit_check_hook_fails_over_budget_with_the_budget_line(project, hook_source, env):
    committed_project(project, env, "1KiB")
    write_precommit_config(project.root, hook_source[0], hook_source[1])
    result = run_hook(project, env, "tfjs-build-check")
    assert result.returncode == 1
    assert "Failed" in result.stdout
    assert "tfjs.yaml:5:21: models.alpha.budgets.size: 2.3 kB is over the limit of 1.0 kB" in result.stdout


def test_pre_commit_fresh_hook_fails_on_a_stale_lock_naming_the_models(project, hook_source, env):
    committed_project(project, env, "1MiB")
    write_precommit_config(project.root, hook_source[0], hook_source[1])
    project.write_config(PUBLISH, models=("alpha",), model_yaml="quantize: uint8")  # not rebuilt: stale
    result = run_hook(project, env, "tfjs-build-fresh")
    assert result.returncode == 1, result.stdout
    assert "tfjs.lock is out of date for 1 model:\n  alpha: config changed: quantize\n" in result.stdout
    assert "run `tfjs-build build` and commit tfjs.lock with the change" in result.stdout


def test_pre_commit_hooks_take_a_subfolder_project_as_args(hook_source, env, tmp_path):
    """A project in a subfolder: ``args: [-C, models]`` (the global option after the command)."""
    outer = tmp_path / "outer"
    (outer / "models").mkdir(parents=True)
    project = Project(outer / "models")
    project.write_config(PUBLISH, models=("alpha",), model_yaml="budgets: {size: 1KiB}")
    project.build("alpha")
    git(outer, env, "init", "-q", "-b", "main")
    write_precommit_config(outer, hook_source[0], hook_source[1], args=("-C", "models"))
    result = run_hook(Project(outer), env, "tfjs-build-check")
    assert result.returncode == 1 and "models.alpha.budgets.size: 2.3 kB is over the limit" in result.stdout
    project.write_config(PUBLISH, models=("alpha",), model_yaml="quantize: uint8")
    result = run_hook(Project(outer), env, "tfjs-build-fresh")
    assert result.returncode == 1 and "run `tfjs-build -C models build`" in result.stdout


def test_git_hooks_block_a_commit_over_budget_and_a_push_of_a_stale_lock(project, git_hook_env, tmp_path):
    env = git_hook_env
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
    assert "tfjs.lock is out of date for 1 model:\n  alpha: config changed: quantize\n" in result.stderr

    project.build("alpha")
    git(project.root, env, "add", ".")
    assert git(project.root, env, "commit", "-q", "-m", "rebuilt").returncode == 0
    result = git(project.root, env, "push", "-q", "origin", "main")
    assert result.returncode == 0, result.stderr
