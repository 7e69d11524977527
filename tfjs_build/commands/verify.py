"""``tfjs-build verify``: run built models in real TF.js and compare with TensorFlow's outputs."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tfjs_build.commands import add_models, positive_int

if TYPE_CHECKING:
    from tfjs_build.cli import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_models(parser, "verify")
    parser.add_argument("--backend", action="append", choices=("cpu", "wasm", "webgl"),
                        help="TF.js backend to run on (default: the model's backends that run under node)")
    parser.add_argument("--samples", type=positive_int, default=2, metavar="N", help="sample inputs per model (default: 2)")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from tfjs_build.util.tensorflow_extra import require_tensorflow
    from tfjs_build.verify.run import verify_models

    require_tensorflow("verify (it compares TF.js with TensorFlow on the source model)")
    return verify_models(ctx.load_config(), args.models, args.backend, ctx.console, args.samples)
