"""``tfjs-build status``: which models are fresh or stale, and why (reads files, converts nothing)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from tfjs_build.commands import add_json, add_models

if TYPE_CHECKING:
    from tfjs_build.cli import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_models(parser, "show")
    add_json(parser, "one object per model")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from tfjs_build.engine.plan import current_plan

    steps = current_plan(ctx.load_config(), names=args.models)
    if args.json:
        ctx.console.out(json.dumps({"models": [s.to_json() for s in steps]}, indent=2, sort_keys=True))
        return 0
    width = max((len(s.model) for s in steps), default=0)
    for step in steps:
        state = ctx.console.paint("fresh", "green") if step.fresh else ctx.console.paint("stale", "yellow")
        why = f"  {'; '.join(step.reasons)}" if step.reasons else ""
        ctx.console.out(f"{state}  {step.model.ljust(width)}{why}".rstrip())
    return 0
