"""A JSON table shipped in this folder (op support, proven fusions, op defects), read once per process.

The converter and ``check`` consult these tables; the scripts that regenerate them, and tests,
put another table in place for a block with ``override`` (json only, no tensorflow).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def table_bytes(file_name: str) -> bytes:
    """The shipped file's bytes (a path beside this module: importlib.resources costs a no-op build 4 ms)."""
    return Path(__file__).with_name(file_name).read_bytes()


class PackagedTable(Generic[T]):
    """``tfjs_build/checks/<file_name>`` parsed by ``parse``; ``current()`` is what the code consults."""

    def __init__(self, file_name: str, parse: Callable[[Any], T]) -> None:
        self._file_name = file_name
        self._parse = parse
        self._overrides: list[T] = []

    @cached_property
    def packaged(self) -> T:
        """The table as shipped (read on first use, then kept)."""
        return self._parse(json.loads(table_bytes(self._file_name)))

    def current(self) -> T:
        """The innermost ``override`` in force, else the packaged table."""
        return self._overrides[-1] if self._overrides else self.packaged

    @contextmanager
    def override(self, table: T) -> Iterator[T]:
        """Use ``table`` instead of the packaged one inside the block (the generators measuring; tests)."""
        self._overrides.append(table)
        try:
            yield table
        finally:
            self._overrides.pop()
