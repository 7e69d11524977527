"""Helpers for engine tests: a small project on disk, building it with the stand-in converter, snapshots.

(A module of its own rather than conftest.py, so that test modules can import it by a unique name.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import stand_in_converter

from tfjs_build.config import load_config
from tfjs_build.engine.build import BuildSummary, build
from tfjs_build.terminal import Console

HERE = Path(__file__).parent
DATA_FILE = "variables/variables.data-00000-of-00001"
CONFIG = """\
version: 1
models:
  alpha:
    source: models/alpha
  beta:
    source: models/beta
    quantize: {quantize}
"""


def age(path: Path, seconds: float = 60) -> None:
    """Date every file below ``path`` back, so the stat cache trusts them (not "racily clean")."""
    past = time.time() - seconds
    for file in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(file, (past, past))


def write_config(root: Path, quantize: str = "uint8") -> None:
    (root / "tfjs.yaml").write_text(CONFIG.format(quantize=quantize), encoding="utf-8")


def run_build(root: Path, *names: str, **options) -> BuildSummary:
    """The builder, in this process, with the stand-in converter in its spawned workers."""
    console = Console(verbosity=-1, color=False)
    return build(load_config(root / "tfjs.yaml"), console, names, convert_fn=stand_in_converter.convert, **options)


def build_process(root: Path, env: dict[str, str]) -> subprocess.Popen:
    """A separate build process (build_script.py) using the stand-in converter."""
    return subprocess.Popen(
        [sys.executable, str(HERE / "build_script.py"), str(root / "tfjs.yaml")],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def stand_in_cli(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real command line, with the stand-in converter, in its own process."""
    return subprocess.run([sys.executable, str(HERE / "stand_in_cli.py"), "--no-color", "-C", str(root), *args],
                          capture_output=True, text=True, timeout=timeout)


def stand_in_cli_process(root: Path, *args: str, env: dict[str, str]) -> subprocess.Popen:
    """``stand_in_cli`` started in a session of its own (a terminal's foreground group, for Ctrl-C), not awaited."""
    return subprocess.Popen([sys.executable, str(HERE / "stand_in_cli.py"), "--no-color", "-C", str(root), *args],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def snapshot(root: Path) -> dict[str, bytes]:
    """The lock and every file of the model folders (not the builder's hidden temp folders), by path."""
    files = {"tfjs.lock": (root / "tfjs.lock").read_bytes()}
    out = root / "dist" / "tfjs"
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and not rel.startswith("."):
            files[rel] = path.read_bytes()
    return files


def copy_project(root: Path, dest: Path) -> Path:
    shutil.copytree(root / "models", dest / "models")
    shutil.copy(root / "tfjs.yaml", dest / "tfjs.yaml")
    age(dest)
    return dest
