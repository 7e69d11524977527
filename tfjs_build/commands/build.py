"""``tfjs-build build``: convert the stale models (or those named), restoring from the cache when it can."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from tfjs_build.commands import add_json, add_models, add_shards, add_switches, positive_int
from tfjs_build.errors import TfjsBuildError
from tfjs_build.hints import display_path
from tfjs_build.terminal import Console

if TYPE_CHECKING:
    from tfjs_build.cli import Context
    from tfjs_build.engine.shards import Fanout, ShardSpec


def shard_spec(text: str) -> ShardSpec:
    from tfjs_build.engine.shards import parse_shard

    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_models(parser, "build")
    parser.add_argument("-j", "--jobs", type=positive_int, metavar="N",
                        help="convert up to N models at once (default: number of CPUs)")
    parser.add_argument("--shard", type=shard_spec, metavar="I/N",
                        help="build only group I of the stale models split N ways by cost, as `plan --shards N` "
                             "lists them (one CI runner of a fan-out)")
    add_switches(parser, {
        "--force": "convert even fresh models, without using the cache",
        "--restore-only": "never convert: restore every stale model from the local or remote cache, exit 1 naming "
                          "those neither holds (the assemble job of a fan-out; needs no TensorFlow)",
    })
    add_shards(parser, "with --restore-only: the fan-out's N, so a missing model's message names its shard")
    add_json(parser, '{"fresh", "restored", "built", "failed"}')


def run(args: argparse.Namespace, ctx: Context) -> int:
    from tfjs_build.engine.build import build

    fanout = _fanout(args)
    config = ctx.load_config()
    console = Console(ctx.console.verbosity, ctx.console.color, sys.stderr) if args.json else ctx.console
    summary = build(config, console, args.models, force=args.force, jobs=args.jobs, fanout=fanout)
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


def _fanout(args: argparse.Namespace) -> Fanout:
    """The fan-out options, or a TfjsBuildError (exit 2) for a combination that makes no sense."""
    from tfjs_build.engine.shards import Fanout

    if args.force and (args.shard or args.restore_only):
        raise TfjsBuildError("--force converts everything on this machine; it cannot go with --shard or --restore-only")
    if args.shards and not args.restore_only:
        raise TfjsBuildError("--shards N goes with --restore-only (it names the shard of a missing model); "
                         "a build runner takes --shard I/N")
    if args.shards and args.shard:
        raise TfjsBuildError("give --shard I/N or --shards N, not both")
    return Fanout(args.shard, args.restore_only, args.shards)
