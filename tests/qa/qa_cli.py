"""The real CLI against hostile input, in a process of its own: exit code 2, no traceback, the message; the
raw tfjs.lock JSON to corrupt; whether a build's process group has ended. Projects come from tests/projects.py.

A uniquely named module (not conftest) so test folders never import each other's helpers.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli_process import run_cli

from tfjs_build.engine.lockfile import LOCK_NAME


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def lock_data(root: Path) -> dict[str, Any]:
    return json.loads((root / LOCK_NAME).read_text(encoding="utf-8"))


def write_lock_data(root: Path, data: Any) -> None:
    (root / LOCK_NAME).write_text(json.dumps(data), encoding="utf-8")


def tfjs_build(root: Path, *args: str) -> Run:
    """The real command line, in a separate process, as a user runs it."""
    done = run_cli("--no-color", "-C", str(root), *args, timeout=120)
    return Run(done.returncode, done.stdout, done.stderr)


def assert_user_error(run: Run, *fragments: str) -> None:
    """Exit 2, no traceback, and every fragment in the message."""
    assert run.code == 2, (run.code, run.err)
    assert "Traceback" not in run.err, run.err
    for fragment in fragments:
        assert fragment in run.err, (fragment, run.err)


def group_ends(group: int, within: float) -> bool:
    """Whether process group ``group`` is empty within ``within`` seconds (exited workers may be zombies
    for a moment until init reaps them)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False
