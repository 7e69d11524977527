"""The real ``tfjs-build`` command line, with the stand-in converter in its workers (run as its own process).

For tests that need the CLI's exit code and messages of a build that converts, without TensorFlow:
``python stand_in_cli.py -C ROOT build``. Only the converter differs from what a user runs.
"""

import functools
import sys

import stand_in_converter

from tfjs_build.cli import main
from tfjs_build.engine import build as builder

if __name__ == "__main__":
    builder.build = functools.partial(builder.build, convert_fn=stand_in_converter.convert)
    sys.exit(main(sys.argv[1:]))
