"""``tfjs-build plan``: the stale models, one per line or as a CI matrix (``--json``).

The JSON is ``{"include": [{"model": NAME, "reasons": "..."}]}``, which GitHub Actions
takes as-is: ``strategy: {matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}}``. GitHub
rejects an empty matrix, so guard the job with ``if: fromJSON(needs.plan.outputs.matrix).include[0]``.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tfjs_build.cli import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="*", metavar="MODEL", help="models to consider (default: all)")
    parser.add_argument("--json", action="store_true", help="print a CI matrix: {\"include\": [...]}")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from tfjs_build.engine.plan import current_plan

    stale = [s for s in current_plan(ctx.load_config(), names=args.models) if not s.fresh]
    if args.json:
        matrix = {"include": [{"model": s.model, "reasons": "; ".join(s.reasons)} for s in stale]}
        ctx.console.out(json.dumps(matrix, sort_keys=True, separators=(",", ":")))
    else:
        for step in stale:
            ctx.console.out(step.model)
    return 0
