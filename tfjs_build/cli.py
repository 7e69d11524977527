"""Command-line entry point: global options, a table of sub-commands, error-to-exit-code mapping.

Each sub-command lives in ``tfjs_build.commands.<name>`` and exposes
``add_arguments(parser)`` and ``run(args, ctx) -> int``. Modules are imported only
when their command runs, so ``tfjs-build status`` loads nothing it does not need.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from tfjs_build import __version__
from tfjs_build.errors import (
    EXIT_INTERNAL_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USER_ERROR,
    TfjsBuildError,
    environment_fault,
)
from tfjs_build.terminal import Console

if TYPE_CHECKING:
    from tfjs_build.config import Config

COMMANDS: dict[str, str] = {
    "init": "scan a folder for models and write a commented tfjs.yaml",
    "build": "convert the models that changed (or those named)",
    "status": "show which models are fresh or stale, and why",
    "plan": "print the stale models, one per line (--json: a CI matrix; --check: fail when tfjs.lock is out of date)",
    "check": "check op support, size budgets and accuracy from tfjs.lock (no rebuild)",
    "diff": "compare sizes with tfjs.lock at another git ref",
    "verify": "run the built models in TF.js and compare with TensorFlow",
    "bench": "time the built models in TF.js (load, first inference, median/p90, memory, kernels) into tfjs.bench.json",
    "publish": "upload built models to a publish target",
    "cache": "manage the local build cache (gc)",
}


@dataclass
class Context:
    """What every command gets: where the project is, its config, and the console."""

    directory: Path
    config_path: Path
    console: Console

    def load_config(self) -> Config:
        from tfjs_build.config import load_config

        return load_config(self.config_path)


def _add_global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """The options every command takes, before or after the command's name.

    After the name they default to SUPPRESS, so a value given before the name survives."""
    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument("-C", dest="directory", type=Path, default=default(Path(".")), metavar="DIR",
                        help="run as if started in DIR")
    parser.add_argument("-c", "--config", type=Path, default=default(None), metavar="FILE",
                        help="config file (default: tfjs.yaml)")
    parser.add_argument("-q", "--quiet", action="count", default=default(0), help="print less")
    parser.add_argument("-v", "--verbose", action="count", default=default(0), help="print more")
    parser.add_argument("--no-color", action="store_true", default=default(False),
                        help="no colour (also: NO_COLOR=1)")


def build_parser(command: str | None) -> argparse.ArgumentParser:
    """The CLI with ``command``'s own arguments: only that command's module is imported (none for
    ``--version``/``--help``, whose listing needs only the COMMANDS table)."""
    parser = argparse.ArgumentParser(
        prog="tfjs-build",
        description="Incremental, checked builds of TensorFlow.js models from tfjs.yaml.",
        epilog="Exit codes: 0 ok, 1 a check failed, 2 user error, 3 internal error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"tfjs-build {__version__}")
    _add_global_options(parser, defaults=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        if command in (None, name):  # a known command needs only its own sub-parser (a few ms each)
            subparser = sub.add_parser(name, help=help_text, description=help_text)
            _add_global_options(subparser, defaults=False)
            if name == command:
                _command_module(name).add_arguments(subparser)
    return parser


def _command_named(argv: list[str]) -> str | None:
    """The command in ``argv`` (a pre-parse of the global options only), so one module gets imported."""
    pre = argparse.ArgumentParser(add_help=False)
    _add_global_options(pre, defaults=True)
    pre.add_argument("command", nargs="?")
    known, _ = pre.parse_known_args(argv)
    return known.command if known.command in COMMANDS else None


def _command_module(name: str) -> ModuleType:
    return importlib.import_module(f"tfjs_build.commands.{name}")


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """CI cancels a job (and `timeout`/`docker stop` end a command) with SIGTERM: clean up as for Ctrl-C.

    Once the command is over, a SIGTERM still exits 130 rather than killing the process: the interpreter's
    shutdown (joining worker processes, atexit handlers) takes a moment after the summary is printed."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (cli.main called from a test's thread): signals are not ours
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, _exit_interrupted if previous == signal.SIG_DFL else previous)


def _exit_interrupted(signum: int, frame: object) -> None:
    """SIGTERM after the command finished: its output is complete; flush it and exit 130 at once."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or a broken pipe
            pass
    os._exit(EXIT_INTERRUPTED)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_command_named(argv)).parse_args(argv)
    console = Console(verbosity=args.verbose - args.quiet, color=False if args.no_color else None)
    directory = args.directory
    if not directory.is_dir():
        console.error(f"-C {directory}: is a file; pass the folder that holds tfjs.yaml (or -c FILE for the config itself)"
                      if directory.exists() else f"-C {directory}: no such directory")
        return EXIT_USER_ERROR
    from tfjs_build.config import find_config  # after argparse: --version and --help need no config code

    ctx = Context(directory=directory.resolve(), config_path=find_config(directory.resolve(), args.config),
                  console=console)
    with _sigterm_as_interrupt():
        try:
            return _command_module(args.command).run(args, ctx)
        except TfjsBuildError as exc:
            console.error(str(exc))
            return exc.exit_code
        except KeyboardInterrupt:
            console.error("interrupted")
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            sys.stderr.close()
            return EXIT_USER_ERROR
        except Exception as exc:  # a bug in tfjs-build, unless the machine refused a file operation
            if (fault := environment_fault(exc)) is not None:
                console.error(str(fault))
                return fault.exit_code
            import traceback

            console.error("internal error in tfjs-build (please report it with this output):")
            traceback.print_exc()
            return EXIT_INTERNAL_ERROR


