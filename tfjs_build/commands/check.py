"""``tfjs-build check``: op support, budgets and accuracy from tfjs.lock and the outputs; exit 1 on failure."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tfjs_build.commands import add_models
from tfjs_build.errors import EXIT_CHECK_FAILED, EXIT_OK
from tfjs_build.report.emit import add_output_arguments, emit

if TYPE_CHECKING:
    from tfjs_build.cli import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_models(parser, "check")
    add_output_arguments(parser)


def run(args: argparse.Namespace, ctx: Context) -> int:
    from tfjs_build.checks.run import run_checks
    from tfjs_build.engine.lockfile import read_lock

    config = ctx.load_config()
    report = run_checks(config, read_lock(config.lock_path), args.models)
    if args.base is not None:
        from tfjs_build.bench.compare import compare_bench_at
        from tfjs_build.engine.lock_at_ref import read_lock_at
        from tfjs_build.report.compare import compare

        report = compare(report, read_lock_at(args.base, config.lock_path), include_removed=not args.models)
        report = compare_bench_at(report, config.paths.bench, args.base)
    emit(report, args, ctx.console, ctx.directory)
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED
