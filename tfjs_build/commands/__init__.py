"""One module per sub-command; each has ``add_arguments(parser)`` and ``run(args, ctx: Context) -> int``.

The argument types below are shared so every command rejects a bad number or size the
same way: argparse's usage message and exit code 2.
"""

from __future__ import annotations

import argparse

from tfjs_build.util.units import parse_size


def add_models(parser: argparse.ArgumentParser, verb: str) -> None:
    """The ``MODEL...`` operands every per-model command takes: none means all of tfjs.yaml's models."""
    parser.add_argument("models", nargs="*", metavar="MODEL", help=f"models to {verb} (default: all)")


def add_shards(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--shards N``: the number of CI runners of a fan-out (``plan`` splits for it, ``build`` names it)."""
    parser.add_argument("--shards", type=shard_count, metavar="N", help=help_text)


def add_switches(parser: argparse.ArgumentParser, switches: dict[str, str]) -> None:
    """On/off options (``--force``, ``--dry-run``, ...): option -> help text."""
    for option, help_text in switches.items():
        parser.add_argument(option, action="store_true", help=help_text)


def add_json(parser: argparse.ArgumentParser, what: str) -> None:
    """``--json``: ``what`` as JSON on stdout, for CI steps to parse (messages and progress stay on stderr)."""
    add_switches(parser, {"--json": f"print {what} as JSON on stdout"})


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
