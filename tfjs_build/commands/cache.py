"""``tfjs-build cache gc``: shrink the local build cache to its size budget."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tfjs_build.commands import byte_size
from tfjs_build.util.units import format_size

if TYPE_CHECKING:
    from tfjs_build.cli import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    gc = sub.add_parser("gc", help="remove least recently used entries until the cache fits",
                        description="remove least recently used entries until the cache fits")
    gc.add_argument("--max-size", type=byte_size, metavar="SIZE",
                    help="budget such as 2GiB (default: cache.max_size in tfjs.yaml, else 5 GiB)")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from tfjs_build.engine.local_cache import LocalCache
    from tfjs_build.engine.placement import BuildMutex

    config = ctx.load_config()
    budget = config.cache.max_size if args.max_size is None else args.max_size
    with BuildMutex(config.paths, ctx.console):  # never delete what a running build stores
        result = LocalCache(config.cache.dir).gc(budget)
    ctx.console.info(
        f"removed {result.removed_entries} entries ({format_size(result.removed_bytes)}); "
        f"{format_size(result.kept_bytes)} kept of {format_size(budget)} allowed"
    )
    return 0
