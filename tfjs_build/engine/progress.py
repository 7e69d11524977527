"""Build progress: one plain line per finished model when piped, a live status line on a terminal."""

from __future__ import annotations

import time

from tfjs_build.terminal import Console


class Progress:
    """One line per finished model when piped; a live status line on a terminal."""

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self.running: dict[str, float] = {}

    def start(self, name: str) -> None:
        self.running[name] = time.monotonic()
        if not self.console.is_tty:
            self.console.detail(f"converting {name}")
        self.tick()

    def finish(self, name: str, text: str) -> None:
        self.done += 1
        began = self.running.pop(name, time.monotonic())
        self._clear()
        self.console.info(f"[{self.done}/{self.total}] {name}: {text} ({time.monotonic() - began:.1f}s)")
        self.tick()

    def tick(self) -> None:
        if self.console.is_tty and self.running and self.console.verbosity >= 0:
            names = ", ".join(sorted(self.running))
            line = f"[{self.done}/{self.total}] converting {names}  {time.monotonic() - self.started:.0f}s"
            self.console.stream.write("\r\033[K" + line[:200])
            self.console.stream.flush()

    def _clear(self) -> None:
        if self.console.is_tty:
            self.console.stream.write("\r\033[K")
