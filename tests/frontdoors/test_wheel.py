"""The wheel, as a user installs it: ``python -m build``, a fresh venv with the light core, then the extra.

Real pip (PyPI), real builds: the core venv runs init, status, check and publish --dry-run on a
prebuilt project with TensorFlow absent; the same venv with ``[tensorflow]`` added builds and
verifies the quickstart, provisioning TF.js itself into an empty user cache (no checkout's
node_modules, no TFJS_BUILD_NODE_DIR). Minutes long (TensorFlow is a 570 MB download): slow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from built_project import Project
from hook_repo import git, snapshot_repo

BASE_PYTHON = str(Path(sys.base_prefix) / "bin" / "python3")
QUICKSTART_FILES = ("tfjs.yaml", "tfjs.lock", "labels.json", "models/digits.keras")


def run(argv: list, cwd: Path, env: dict[str, str], timeout: float = 1800) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{argv}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def package_data_missing(source: Path, wheel: Path) -> list[str]:
    """Files git tracks under tfjs_build/ (not .py) that the wheel lacks."""
    tracked = git(source, "ls-files", "tfjs_build").split()
    shipped = set(zipfile.ZipFile(wheel).namelist())
    return [f for f in tracked if not f.endswith(".py") and f not in shipped]


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """No venv, PYTHONPATH or TF.js location of this checkout; an empty per-user cache."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "TFJS_BUILD_NODE_DIR")}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != venv_bin)
    return env | {"XDG_CACHE_HOME": str(tmp_path / "user-cache"), "NO_COLOR": "1"}


@pytest.mark.slow
def test_wheel_core_install_runs_the_light_commands_and_the_extra_builds_and_verifies(tmp_path, clean_env):
    source = tmp_path / "source"
    source.mkdir()
    snapshot_repo(source)
    run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", tmp_path / "dist", source], tmp_path, clean_env)
    [wheel] = (tmp_path / "dist").glob("tfjs_build-*.whl")
    assert list((tmp_path / "dist").glob("tfjs_build-*.tar.gz"))
    assert package_data_missing(source, wheel) == []

    venv = tmp_path / "venv"
    run([BASE_PYTHON, "-m", "venv", venv], tmp_path, clean_env)
    pip, tfjs_build, python = venv / "bin" / "pip", venv / "bin" / "tfjs-build", venv / "bin" / "python"
    run([pip, "install", "-q", wheel], tmp_path, clean_env)
    core_bytes = folder_bytes(venv)
    probe = run([python, "-c", "import importlib.util as u; print(u.find_spec('tensorflow'))"], tmp_path, clean_env)
    assert probe.stdout.strip() == "None", "the core install pulled TensorFlow"

    fresh = tmp_path / "fresh"
    (fresh / "models").mkdir(parents=True)
    shutil.copy(source / "examples" / "quickstart" / "models" / "digits.keras", fresh / "models")
    assert "wrote tfjs.yaml with 1 model(s)" in run([tfjs_build, "init"], fresh, clean_env).stdout
    assert "stale  digits  new model" in run([tfjs_build, "status"], fresh, clean_env).stdout

    project = Project(tmp_path / "prebuilt")
    project.root.mkdir()
    project.write_config("  origin:\n    type: http\n    url: http://127.0.0.1:9/models\n", models=("alpha",))
    project.build("alpha")
    assert "all checks passed" in run([tfjs_build, "check"], project.root, clean_env).stdout
    assert run([tfjs_build, "plan"], project.root, clean_env).stdout == ""
    dry = run([tfjs_build, "publish", "--dry-run"], project.root, clean_env).stdout
    assert "would upload http://127.0.0.1:9/models/alpha/" in dry

    run([pip, "install", "-q", f"{wheel}[tensorflow]"], tmp_path, clean_env)
    full_bytes = folder_bytes(venv)
    print(f"\nwheel {wheel.stat().st_size} bytes; venv with the core {core_bytes / 1e6:.0f} MB, with [tensorflow] "
          f"{full_bytes / 1e6:.0f} MB: core = {core_bytes / full_bytes:.1%} of the full install")
    assert core_bytes < 0.10 * full_bytes

    quickstart = tmp_path / "quickstart"
    for name in QUICKSTART_FILES:
        (quickstart / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / "examples" / "quickstart" / name, quickstart / name)
    build = run([tfjs_build, "build"], quickstart, clean_env)
    assert "2 built" in build.stdout
    verify = run([tfjs_build, "verify", "--backend", "cpu"], quickstart, clean_env)
    assert "installing the pinned TF.js 4.22.0 runtime (once)" in verify.stderr
    assert verify.stdout.count(": ok") == 2, verify.stdout
