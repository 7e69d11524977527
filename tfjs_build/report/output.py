"""The output options ``check`` and ``diff`` share, and the one place that emits a Report."""

from __future__ import annotations

import argparse
from pathlib import Path

from tfjs_build.atomic import atomic_write_text
from tfjs_build.console import Console
from tfjs_build.report import render_json
from tfjs_build.report.console import render_console
from tfjs_build.report.html import render_html
from tfjs_build.report.markdown import render_markdown
from tfjs_build.report.record import Report

FORMATS = ("table", "json", "markdown")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="table (terminal, default), json, or markdown (PR comment / job summary)")
    parser.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    parser.add_argument("--html", type=Path, metavar="FILE",
                        help="also write a self-contained HTML page (where the bytes go, budget bars)")
    parser.add_argument("--base", metavar="REF",
                        help="compare with tfjs.lock at this git ref (branch, tag or commit)")


def emit(report: Report, args: argparse.Namespace, console: Console, directory: Path) -> None:
    """Print ``report`` in the chosen format; write the HTML page when asked (relative to -C DIR)."""
    if args.format == "json":
        console.out(render_json(report).rstrip("\n"))
    elif args.format == "markdown":
        console.out(render_markdown(report).rstrip("\n"))
    else:
        render_console(report, console)
    if args.html is not None:
        path = directory / args.html
        atomic_write_text(path, render_html(report))
        console.detail(f"wrote {path}")
