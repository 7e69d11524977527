"""``tfjs-build build``: convert the stale models (or those named), restoring from the cache when it can."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tfjs_build.commands import positive_int
from tfjs_build.config import display_path

if TYPE_CHECKING:
    from tfjs_build.cli import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="*", metavar="MODEL", help="models to build (default: all)")
    parser.add_argument("-j", "--jobs", type=positive_int, metavar="N",
                        help="convert up to N models at once (default: number of CPUs)")
    parser.add_argument("--force", action="store_true",
                        help="convert even fresh models, without using the cache")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from tfjs_build.engine.build import build

    config = ctx.load_config()
    summary = build(config, ctx.console, args.models, force=args.force, jobs=args.jobs)
    for name, message, _ in summary.failed:
        ctx.console.error(f"{name}: {message}")
    counts = [(len(summary.fresh), "fresh"), (len(summary.restored), "restored from cache"),
              (len(summary.built), "built"), (len(summary.failed), "failed")]
    ctx.console.info(", ".join(f"{n} {what}" for n, what in counts if n) or "no models")
    for name in summary.built + summary.restored:
        ctx.console.info(f"  {display_path(config.model_output_dir(name) / 'model.json')}")
    return summary.exit_code
