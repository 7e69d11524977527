"""The real ``tfjs-build`` command line, with the stand-in converter in its workers (run as its own process).

For tests that need the CLI's exit code and messages of a build that converts, without TensorFlow:
``python stand_in_cli.py -C ROOT build``. Only the converter differs from what a user runs.

STAND_IN_EXIT_GATE (a folder): once the command has finished, the process writes "exiting" there and waits
(at most 60 s) for "release" before it exits: a stand-in for a slow interpreter shutdown, so that a signal can
be sent after the command's summary deterministically.
"""

import atexit
import functools
import os
import sys
import time
from pathlib import Path

import stand_in_converter

from tfjs_build.cli import main
from tfjs_build.engine import build as builder


def _wait_at_exit(gate: Path) -> None:
    (gate / "exiting").touch()
    deadline = time.monotonic() + 60
    while not (gate / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


if __name__ == "__main__":
    if gate := os.environ.get("STAND_IN_EXIT_GATE"):
        atexit.register(_wait_at_exit, Path(gate))
    builder.build = functools.partial(builder.build, convert_fn=stand_in_converter.convert)
    sys.exit(main(sys.argv[1:]))
