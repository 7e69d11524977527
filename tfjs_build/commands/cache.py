"""``tfjs-build cache gc``: shrink the local build cache to its size budget."""

from __future__ import annotations

import argparse

from tfjs_build.units import format_size, parse_size


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    gc = sub.add_parser("gc", help="remove least recently used entries until the cache fits",
                        description="remove least recently used entries until the cache fits")
    gc.add_argument("--max-size", type=_size, metavar="SIZE",
                    help="budget such as 2GiB (default: cache.max_size in tfjs.yaml, else 5 GiB)")


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, got {text!r}") from None


def run(args: argparse.Namespace, ctx) -> int:
    from tfjs_build.placement import BuildLock
    from tfjs_build.cache import LocalCache
    from tfjs_build.fingerprint import state_dir

    config = ctx.load_config()
    budget = config.cache.max_size if args.max_size is None else args.max_size
    with BuildLock(state_dir(config.root), ctx.console):  # never delete what a running build stores
        result = LocalCache(config.cache.dir).gc(budget)
    ctx.console.info(
        f"removed {result.removed_entries} entries ({format_size(result.removed_bytes)}); "
        f"{format_size(result.kept_bytes)} kept of {format_size(budget)} allowed"
    )
    return 0
