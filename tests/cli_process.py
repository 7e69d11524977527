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


# Exec'd first in a Ctrl-C test's process: SIGINT unblocked and at its default, as a terminal starts a command.
# Both are inherited across exec, so a suite started as a script's background job (SIGINT ignored) or from a
# thread that blocks it would hand the build a Ctrl-C it never sees; a shell's `&` does exactly that.
_AS_FROM_A_TERMINAL = ("import os, signal, sys; signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); "
                       "signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")


def as_from_a_terminal(*python_args: str) -> list[str]:
    """The command line ``python PYTHON_ARGS`` with SIGINT as a terminal gives it (for tests that send Ctrl-C)."""
    return [sys.executable, "-c", _AS_FROM_A_TERMINAL, *python_args]
