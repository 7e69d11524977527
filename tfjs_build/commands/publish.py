"""``tfjs-build publish [TARGET] [MODEL...] [--dry-run]``: upload built models to a publish target.

Every model is checked against tfjs.lock before the first byte goes out, so a stale or
tampered output stops the whole publish instead of leaving half of it online.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from tfjs_build.config import Config, PublishTarget
from tfjs_build.engine.lockfile import read_lock
from tfjs_build.errors import EXIT_OK, ConfigError
from tfjs_build.hints import did_you_mean, display_path
from tfjs_build.util.units import format_size

if TYPE_CHECKING:
    from tfjs_build.cli import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="[TARGET] MODEL",
                        help="a target from `publish:` (optional when there is one), then models (default: all)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print every upload (destination, size, Cache-Control) without contacting the target")
    parser.add_argument("--json", action="store_true",
                        help="print the result as JSON: every model's digest, its URL and its files' URLs (for CI)")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from tfjs_build.engine.plan import require_fresh
    from tfjs_build.publish import open_target
    from tfjs_build.publish.bundle import collect_bundle

    config = ctx.load_config()
    target, names = select_target(config, args.names)
    models = config.select(names)
    lock = read_lock(config.lock_path)
    bundles = [collect_bundle(config, model, lock.models.get(model.name)) for model in models]
    require_fresh(config, lock, models, before="publishing")
    publisher = open_target(target)
    results: list[dict[str, object]] = []  # one JSON object per model
    try:
        for bundle in bundles:
            files = [item.destination for item in publisher.plan(bundle)]
            results.append({"model": bundle.model, "digest": bundle.digest, "files": files,
                            "url": next((f for f in files if f.endswith("/model.json")), None)})
            if args.dry_run and args.json:
                continue
            if args.dry_run:
                ctx.console.out(f"{target.name}: {bundle.model} {bundle.digest} (dry run, nothing uploaded)")
                planned = publisher.plan(bundle)
                for item in planned:
                    headers = f", {item.cache_control}" if item.cache_control else ""
                    ctx.console.out(f"  would upload {item.destination} ({item.size} bytes{headers})")
                if not all(item.cache_control for item in planned):
                    ctx.console.out("  (Cache-Control is the origin's to set: an upload carries no stored headers)")
                continue
            outcome = publisher.publish(bundle, ctx.console.detail)
            results[-1] |= {"url": outcome.location, "uploaded": len(outcome.uploaded), "skipped": len(outcome.skipped)}
            if args.json:
                continue
            ctx.console.out(
                f"{target.name}: {bundle.model} -> {outcome.location} ({len(outcome.uploaded)} uploaded, "
                f"{format_size(outcome.uploaded_bytes)}; {len(outcome.skipped)} already there)"
            )
    finally:
        publisher.close()
    if args.json:
        ctx.console.out(json.dumps({"target": target.name, "dry_run": args.dry_run, "models": results}, indent=2))
    return EXIT_OK


def select_target(config: Config, names: list[str]) -> tuple[PublishTarget, list[str]]:
    """The first name is a target when it names one; with a single target it may be left out."""
    targets = {t.name: t for t in config.publish}
    where = display_path(config.path)
    if not targets:
        raise ConfigError(f"{where}: no `publish:` targets; add one, e.g. `publish: {{cdn: {{type: s3, bucket: NAME}}}}`")
    if names and names[0] in targets:
        return targets[names[0]], names[1:]
    if len(targets) == 1:
        return next(iter(targets.values())), names
    hint = did_you_mean(names[0], list(targets)) if names else ""
    first = f"{names[0]!r} is not a target{hint}; " if names else ""
    raise ConfigError(
        f"{where}: {first}several publish targets ({', '.join(targets)}): name one first, "
        "as in `tfjs-build publish TARGET [MODEL...]`"
    )
