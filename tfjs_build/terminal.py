"""The one place that writes to the terminal: levels, colour, and plain lines when piped.

Colour follows the usual conventions: ``--no-color`` or ``NO_COLOR`` turn it off,
``FORCE_COLOR`` turns it on, otherwise it is on only when stdout is a terminal.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

_CODES = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "bold": "1", "dim": "2"}


class Console:
    def __init__(self, verbosity: int = 0, color: bool | None = None, stream: TextIO | None = None) -> None:
        self.verbosity = verbosity
        self.stream = stream or sys.stdout
        self.color = wants_color(self.stream) if color is None else color

    @property
    def is_tty(self) -> bool:
        return hasattr(self.stream, "isatty") and self.stream.isatty()

    def paint(self, text: str, style: str) -> str:
        return f"\033[{_CODES[style]}m{text}\033[0m" if self.color else text

    def out(self, text: str = "") -> None:
        """Results: always printed (even with -q), to stdout."""
        print(text, file=self.stream, flush=True)

    def info(self, text: str) -> None:
        if self.verbosity >= 0:
            print(text, file=self.stream, flush=True)

    def detail(self, text: str) -> None:
        if self.verbosity >= 1:
            print(self.paint(text, "dim"), file=self.stream, flush=True)

    def warn(self, text: str) -> None:
        print(self.paint("warning: ", "yellow") + text, file=sys.stderr, flush=True)

    def error(self, text: str) -> None:
        print(self.paint("error: ", "red") + text, file=sys.stderr, flush=True)


def wants_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()
