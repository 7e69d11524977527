"""Run one build of a project with the stand-in converter, as its own process (for kill and concurrency tests)."""

import sys
from pathlib import Path

import stand_in_converter

from tfjs_build.config import load_config
from tfjs_build.engine.build import build
from tfjs_build.terminal import Console

if __name__ == "__main__":
    summary = build(load_config(Path(sys.argv[1])), Console(color=False), convert_fn=stand_in_converter.convert)
    print("built:", " ".join(summary.built), "restored:", " ".join(summary.restored), flush=True)
    sys.exit(summary.exit_code)
