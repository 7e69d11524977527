"""One module per sub-command; each has ``add_arguments(parser)`` and ``run(args, ctx: Context) -> int``.

The argument types below are shared so every command rejects a bad number or size the
same way: argparse's usage message and exit code 2.
"""

from __future__ import annotations

import argparse

from tfjs_build.util.units import parse_size


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def byte_size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, got {text!r}") from None


def shard_count(text: str) -> int:
    """N of a fan-out over N CI runners (``--shards N``)."""
    from tfjs_build.engine.shards import MAX_SHARDS

    count = positive_int(text)
    if count > MAX_SHARDS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_SHARDS} shards (a CI matrix's limit), got {text!r}")
    return count
