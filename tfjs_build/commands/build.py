"""``tfjs-build build``: convert the stale models (or those named), restoring from the cache when it can."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from tfjs_build.commands import positive_int
from tfjs_build.hints import display_path
from tfjs_build.terminal import Console

if TYPE_CHECKING:
    from tfjs_build.cli import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="*", metavar="MODEL", help="models to build (default: all)")
    parser.add_argument("-j", "--jobs", type=positive_int, metavar="N",
                        help="convert up to N models at once (default: number of CPUs)")
    parser.add_argument("--force", action="store_true",
                        help="convert even fresh models, without using the cache")
    parser.add_argument("--json", action="store_true",
                        help='print {"fresh", "restored", "built", "failed"} as JSON on stdout (progress goes to stderr)')


def run(args: argparse.Namespace, ctx: Context) -> int:
    from tfjs_build.engine.build import build

    config = ctx.load_config()
    console = Console(ctx.console.verbosity, ctx.console.color, sys.stderr) if args.json else ctx.console
    summary = build(config, console, args.models, force=args.force, jobs=args.jobs)
    for name, message, _ in summary.failed:
        console.error(f"{name}: {message}")
    counts = [(len(summary.fresh), "fresh"), (len(summary.restored), "restored from cache"),
              (len(summary.built), "built"), (len(summary.failed), "failed")]
    console.info(", ".join(f"{n} {what}" for n, what in counts if n) or "no models")
    for name in summary.built + summary.restored:
        console.info(f"  {display_path(config.model_output_dir(name) / 'model.json')}")
    if args.json:  # for CI (the GitHub Action's built/restored outputs)
        failed = [{"model": name, "message": message, "exit_code": code} for name, message, code in summary.failed]
        ctx.console.out(json.dumps({"fresh": summary.fresh, "restored": summary.restored, "built": summary.built,
                                    "failed": failed}, sort_keys=True))
    return summary.exit_code
