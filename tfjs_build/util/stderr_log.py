"""Keep TensorFlow's C++ start-up chatter out of what tfjs-build prints.

TensorFlow's runtime writes CUDA probing and oneDNN notes straight to file descriptor 2,
before TF_CPP_MIN_LOG_LEVEL is read, so only redirecting the descriptor silences it. The
log is kept so that a crash report can show its last lines.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOG_TAIL_LINES = 30


@contextmanager
def stderr_into(log: Path) -> Iterator[None]:
    """Send this process's fd 2 to ``log`` (appending) for the duration of the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log, "ab") as handle:
        os.dup2(handle.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def log_tail(log: Path) -> str:
    """The last lines of ``log``, introduced for an error message ("" when it is empty)."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL_LINES:]
    return "\nconverter output (last lines):\n" + "\n".join(lines) if lines else ""
