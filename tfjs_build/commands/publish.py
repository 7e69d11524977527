"""``tfjs-build publish [TARGET] [MODEL...] [--dry-run] [--prune KEEP]``: upload built models to a publish target.

Every model is checked against tfjs.lock before the first byte goes out, so a stale or
tampered output stops the whole publish instead of leaving half of it online. With
``--prune KEEP`` nothing is uploaded: the target's old versions are removed instead
(publish/prune.py), which needs no build at all.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from tfjs_build.commands import add_json, add_switches
from tfjs_build.config import Config, PublishTarget
from tfjs_build.engine.lockfile import read_lock
from tfjs_build.errors import EXIT_OK, ConfigError
from tfjs_build.hints import did_you_mean, display_path
from tfjs_build.util.units import format_size

if TYPE_CHECKING:
    from tfjs_build.cli import Context
    from tfjs_build.publish.base import Planned


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="[TARGET] MODEL",
                        help="a target from `publish:` (optional when there is one), then models (default: all)")
    add_switches(parser, {"--dry-run": "print every upload (destination, size, Cache-Control) without contacting the target"})
    parser.add_argument("--prune", type=_keep, metavar="KEEP",
                        help="upload nothing; remove versions beyond the newest KEEP (never the one latest.json names) "
                             "and the shards no kept version uses; with --dry-run, list them")
    add_json(parser, "every model's digest, its URL and its files' URLs")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from tfjs_build.engine.plan import require_fresh
    from tfjs_build.publish import open_target
    from tfjs_build.publish.bundle import collect_bundle

    config = ctx.load_config()
    target, names = select_target(config, args.names)
    models = config.select(names)
    if args.prune is not None:
        return prune(ctx, target, [m.name for m in models], args)
    lock = read_lock(config.lock_path)
    bundles = [collect_bundle(config, model, lock.models.get(model.name)) for model in models]
    require_fresh(config, lock, models, before="publishing")
    publisher = open_target(target)
    results: list[dict[str, object]] = []  # one JSON object per model
    try:
        for bundle in bundles:
            planned = publisher.plan(bundle)
            results.append({"model": bundle.model, "digest": bundle.digest, "files": [p.destination for p in planned],
                            "url": next((p.destination for p in planned if p.model_json), None)})
            if args.dry_run and args.json:
                continue
            if args.dry_run:
                ctx.console.out(f"{target.name}: {bundle.model} {bundle.digest} (dry run, nothing uploaded)")
                _print_plan(ctx, planned)
                continue
            outcome = publisher.publish(bundle, ctx.console.detail)
            results[-1] |= {"url": outcome.location, "uploaded": len(outcome.uploaded), "skipped": len(outcome.skipped),
                            "uploaded_bytes": outcome.uploaded_bytes}
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


def _print_plan(ctx: Context, planned: list[Planned]) -> None:
    for item in planned:
        headers = f", {item.cache_control}" if item.cache_control else ""
        size = "adds this version" if item.size is None else f"{item.size} bytes"
        ctx.console.out(f"  would upload {item.destination} ({size}{headers})")
    if not all(item.cache_control for item in planned):
        ctx.console.out("  (Cache-Control is the origin's to set: an upload carries no stored headers)")


def prune(ctx: Context, target: PublishTarget, models: list[str], args: argparse.Namespace) -> int:
    from tfjs_build.publish import open_target

    publisher = open_target(target)
    results: list[dict[str, object]] = []
    try:
        for model in models:
            if not args.json:
                ctx.console.out(f"{target.name}: {model}: keeping the newest {args.prune}"
                                + (" (dry run, nothing deleted)" if args.dry_run else ""))
            done = publisher.prune(model, args.prune, args.dry_run, ctx.console.out if not args.json else ctx.console.detail)
            results.append({"model": model, "kept": done.kept, "removed": done.removed, "deleted": done.deleted,
                            "freed_bytes": done.freed_bytes})
            if not args.json:
                verb = "would remove" if args.dry_run else "removed"
                ctx.console.out(f"{target.name}: {model}: {verb} {len(done.removed)} versions, {len(done.deleted)} "
                                f"objects ({format_size(done.freed_bytes)}); kept {len(done.kept)}")
    finally:
        publisher.close()
    if args.json:
        # "pruned", not "models": readers of publish's JSON (the Action's `published` output) see no version here
        ctx.console.out(json.dumps({"target": target.name, "dry_run": args.dry_run, "prune": args.prune,
                                    "pruned": results}, indent=2))
    return EXIT_OK


def _keep(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of versions to keep, at least 1, got {text!r}")
    return int(text)


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
