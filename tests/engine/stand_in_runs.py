"""Building with the stand-in converter (stand_in_converter.py, no TensorFlow): in this process, as a separate
build process, or through the real command line in a process of its own (one CI runner of a fan-out).

(A module of its own rather than conftest.py, so that test modules can import it by a unique name; the
projects they build come from tests/projects.py.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import stand_in_converter
from cli_process import as_from_a_terminal

from tfjs_build.config import load_config
from tfjs_build.engine.build import BuildSummary, build
from tfjs_build.terminal import Console

HERE = Path(__file__).parent


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


def stand_in_cli(root: Path, *args: str, env: dict[str, str] | None = None, pythonpath: Path | None = None,
                 timeout: float = 180) -> subprocess.CompletedProcess:
    """``tfjs-build -C ROOT ARGS`` with the stand-in converter, in its own process; ``env`` adds to the
    environment and ``pythonpath`` goes first on PYTHONPATH."""
    environ = {**os.environ, **(env or {})}
    if pythonpath is not None:
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, str(HERE / "stand_in_cli.py"), "--no-color", "-C", str(root), *args],
                          capture_output=True, text=True, timeout=timeout, env=environ)


def stand_in_cli_process(root: Path, *args: str, env: dict[str, str]) -> subprocess.Popen:
    """``stand_in_cli`` started in a session of its own (a terminal's foreground group, for Ctrl-C), not awaited."""
    return subprocess.Popen(as_from_a_terminal(str(HERE / "stand_in_cli.py"), "--no-color", "-C", str(root), *args),
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
