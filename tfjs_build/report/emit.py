"""The output options ``check`` and ``diff`` share, and the one place that emits a Report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from tfjs_build.config import display_path
from tfjs_build.errors import TfjsBuildError
from tfjs_build.report import render_json
from tfjs_build.report.github import render_github
from tfjs_build.report.html import render_html
from tfjs_build.report.markdown import render_markdown
from tfjs_build.report.record import Report
from tfjs_build.report.table import render_console
from tfjs_build.terminal import Console
from tfjs_build.util.atomic import atomic_write_text

_TEXT_RENDERERS: dict[str, Callable[[Report], str]] = {
    "json": render_json, "markdown": render_markdown, "github": render_github}
FORMATS = ("table", *_TEXT_RENDERERS)


def add_output_arguments(parser: argparse.ArgumentParser, base_default: str | None = None) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="table (terminal, default), json, markdown (PR comment / job summary), "
                             "or github (::error annotations on the tfjs.yaml lines at fault)")
    parser.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    parser.add_argument("--html", type=Path, metavar="FILE",
                        help="also write a self-contained HTML page (where the bytes go, budget bars)")
    parser.add_argument("--base", metavar="REF", default=base_default,
                        help="compare with tfjs.lock at this git ref (branch, tag or commit)"
                        + (f"; default {base_default}" if base_default else ""))


def emit(report: Report, args: argparse.Namespace, console: Console, directory: Path) -> None:
    """Print ``report`` in the chosen format; write the HTML page when asked (relative to -C DIR)."""
    if args.format in _TEXT_RENDERERS:
        console.out(_TEXT_RENDERERS[args.format](report).rstrip("\n"))
    else:
        render_console(report, console)
    if args.html is not None:
        path = directory / args.html
        try:
            atomic_write_text(path, render_html(report))
        except OSError as exc:
            raise TfjsBuildError(f"--html {args.html}: cannot write {path} ({exc.strerror}); "
                                 "pick a path in a writable folder") from None
        if console.verbosity >= 0:  # on stderr: stdout may be the JSON or markdown report
            print(f"wrote the HTML report to {display_path(path)}", file=sys.stderr, flush=True)
