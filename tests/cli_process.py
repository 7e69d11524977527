"""The real command line in a process of its own, as a user runs it: exit code, stdout and stderr.

One helper for every test folder (the engine, checks, verify and CLI tests each used to spell it out).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``python -m tfjs_build ARGS`` with this interpreter; ``env`` adds to (or overrides) the environment."""
    return subprocess.run([sys.executable, "-m", "tfjs_build", *args], cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)
