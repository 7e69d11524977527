"""``tfjs-build diff --base REF``: sizes, transfer, params and accuracy against tfjs.lock at a git ref."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tfjs_build.errors import EXIT_OK
from tfjs_build.report.emit import add_output_arguments, emit

if TYPE_CHECKING:
    from tfjs_build.cli import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_output_arguments(parser, base_default="HEAD")
    parser.set_defaults(base=None)  # HEAD, but knowing whether --base was given: the fix outside git differs


def run(args: argparse.Namespace, ctx: Context) -> int:
    from tfjs_build.bench.compare import compare_bench_at
    from tfjs_build.engine.lock_at_ref import read_lock_at
    from tfjs_build.engine.lockfile import read_lock
    from tfjs_build.project import ProjectPaths
    from tfjs_build.report.compare import diff_locks

    lock_path = ctx.load_config().lock_path
    if args.base is None:
        base = read_lock_at("HEAD", lock_path, outside_git="diff compares tfjs.lock with the one committed in git "
                                                            "(default: at HEAD); run it in a git checkout")
    else:
        base = read_lock_at(args.base, lock_path)
    report = compare_bench_at(diff_locks(read_lock(lock_path), base), ProjectPaths(lock_path.parent).bench, base.ref)
    emit(report, args, ctx.console, ctx.directory)
    return EXIT_OK
