"""``tfjs-build plan``: the stale models, one per line or as a CI matrix (``--json``).

The JSON is ``{"include": [{"model": NAME, "reasons": "..."}]}``, which GitHub Actions
takes as-is: ``strategy: {matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}}``. GitHub
rejects an empty matrix, so guard the job with ``if: fromJSON(needs.plan.outputs.matrix).include[0]``.
With ``--shards N`` it is one row per non-empty group of the stale models split N ways by
cost, ``{"shard": "I/N", "models": [...]}``, which ``build --shard I/N`` builds (engine/shards.py).

``--check`` is the pre-commit hook ``tfjs-build-fresh``: exit 1 when tfjs.lock no longer
describes tfjs.yaml and the sources (a new model, a changed source, config or converter), with
the reasons and the fix on stderr. Missing or edited built outputs do not count: a fresh
checkout (CI, a new clone) has none, and its lock may still be right.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from typing import TYPE_CHECKING

from tfjs_build.commands import add_json, add_models, add_shards, add_switches
from tfjs_build.config import CONFIG_NAME
from tfjs_build.errors import EXIT_CHECK_FAILED, EXIT_OK, TfjsBuildError

if TYPE_CHECKING:
    from tfjs_build.cli import Context
    from tfjs_build.config import Config
    from tfjs_build.engine.lockfile import Lock
    from tfjs_build.engine.plan import Step


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_models(parser, "consider")
    add_json(parser, 'a CI matrix ({"include": [...]})')
    add_shards(parser, "with --json: split the stale models into N groups of near-equal cost, one matrix row "
                       "per group ({\"shard\": \"I/N\", \"models\": [...]}), for `build --shard I/N`")
    add_switches(parser, {"--check": "exit 1 when tfjs.lock is out of date with tfjs.yaml or the sources, saying why on "
                                     "stderr (built outputs are not looked at; the tfjs-build-fresh hook)"})


def run(args: argparse.Namespace, ctx: Context) -> int:
    from tfjs_build.engine.lockfile import read_lock
    from tfjs_build.engine.plan import current_plan

    config = ctx.load_config()
    lock = read_lock(config.lock_path)
    stale = [s for s in current_plan(config, lock, names=args.models) if not s.fresh]
    if args.shards and not args.json:
        raise TfjsBuildError("--shards N prints a CI matrix: add --json")
    if args.json:
        matrix = {"include": shard_rows(stale, lock, args.shards, config) if args.shards else
                  [{"model": s.model, "reasons": "; ".join(s.reasons)} for s in stale]}
        ctx.console.out(json.dumps(matrix, sort_keys=True, separators=(",", ":")))
    elif not args.check:
        for step in stale:
            ctx.console.out(step.model)
    if args.check:  # the lock's question: do the inputs still have the locked fingerprint?
        stale = [s for s in stale if (e := lock.models.get(s.model)) is None or e.fingerprint != s.inputs.fingerprint]
    if not args.check or not stale:
        return EXIT_OK
    lines = [f"tfjs.lock is out of date for {len(stale)} model{'s' if len(stale) > 1 else ''}:"]
    lines += [f"  {step.model}: {'; '.join(step.reasons)}" for step in stale]
    lines.append(f"run `{build_command(ctx)}` and commit tfjs.lock with the change")
    print("\n".join(lines), file=sys.stderr, flush=True)
    return EXIT_CHECK_FAILED


def shard_rows(stale: list[Step], lock: Lock, count: int, config: Config) -> list[dict[str, object]]:
    """One matrix row per non-empty group (GitHub runs a job per row; an empty group has nothing to build)."""
    from tfjs_build.engine.shards import ShardSpec, split_steps

    groups = split_steps(stale, lock, count, config)
    return [{"shard": str(ShardSpec(i + 1, count)), "models": group} for i, group in enumerate(groups) if group]


def build_command(ctx: Context) -> str:
    """The command that brings this project up to date, as typed from the current folder."""
    argv = ["tfjs-build"]
    if (folder := os.path.relpath(ctx.directory)) != ".":
        argv += ["-C", folder]
    if ctx.config_path != ctx.directory / CONFIG_NAME:
        argv += ["-c", os.path.relpath(ctx.config_path, ctx.directory)]
    return shlex.join([*argv, "build"])
