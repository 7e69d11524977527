"""``tfjs-build bench``: load time, cold first inference, median/p90 latency, peak memory and the slowest
kernels of each built model per backend, in real TF.js; recorded in tfjs.bench.json for ``check``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from tfjs_build.commands import add_models, add_switches
from tfjs_build.errors import EXIT_OK, EXIT_USER_ERROR
from tfjs_build.terminal import Console

if TYPE_CHECKING:
    from tfjs_build.cli import Context

BACKENDS = ("cpu", "wasm", "webgl")
MIN_RUNS = 3  # a median and a p90 need a few values


def backend_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in BACKENDS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"expected backends from {', '.join(BACKENDS)} (comma-separated), got {text!r}")
    return names


def count(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to 10,000."""
    def parse(text: str) -> int:
        if not text.isdigit() or not low <= int(text) <= 10_000:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to 10000, got {text!r}")
        return int(text)
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tfjs_build.bench.measure import PROCESSES  # only `tfjs-build bench` builds this parser

    add_models(parser, "benchmark")
    parser.add_argument("--backend", type=backend_list, action="append", metavar="B[,B...]",
                        help="cpu, wasm (node) and/or webgl (headless Chromium); default: the model's backends")
    parser.add_argument("--runs", type=count(MIN_RUNS), default=20, metavar="N", help="timed runs (default: 20)")
    parser.add_argument("--warmup", type=count(0), default=3, metavar="K",
                        help="discarded warm-up runs after the first inference (default: 3; warm-up also lasts at "
                             "least 2 s, for V8 to finish optimising)")
    parser.add_argument("--processes", type=count(1), default=PROCESSES, metavar="P",
                        help=f"fresh processes per model and backend, the lowest median kept (default: {PROCESSES})")
    add_switches(parser, {"--calibrate": "also time a fixed reference workload and report latencies as multiples of it (Nx)"})
    parser.add_argument("--format", choices=("table", "json", "markdown"), default="table",
                        help="table (default), json, or markdown (job summary / PR comment)")
    parser.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    parser.add_argument("--no-record", dest="record", action="store_false",
                        help="print the figures without writing tfjs.bench.json")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from tfjs_build.bench import render
    from tfjs_build.bench.measure import BenchOptions
    from tfjs_build.bench.run import bench_models

    backends = list(dict.fromkeys(b for group in args.backend for b in group)) if args.backend else None
    options = BenchOptions(runs=args.runs, warmup=args.warmup, calibrate=args.calibrate, processes=args.processes)
    # Progress goes to stderr (stdout is the table, JSON or markdown); for a document only with -v, since the
    # Action puts stderr beside the markdown in the PR comment.
    quieter = 0 if args.format == "table" else 1
    progress = Console(ctx.console.verbosity - quieter, ctx.console.color, sys.stderr)
    result = bench_models(ctx.load_config(), args.models, backends, options, progress, write=args.record)
    if args.format == "table":
        render.render_console(result, ctx.console, wrote=args.record and bool(result.measured))
    else:
        text = render.render_json(result) if args.format == "json" else render.render_markdown(result)
        ctx.console.out(text.rstrip("\n"))
    for failure in result.failures:
        ctx.console.error(failure)
    return EXIT_USER_ERROR if result.failures else EXIT_OK
