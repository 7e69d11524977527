"""The stat cache: (path, size, mtime_ns, inode, ctime_ns) -> digest, in SQLite (``ProjectPaths.stat_cache``).

It is what makes a no-op build instant: a file whose stat is unchanged is not re-read.
Following git's "racily clean" rule, a file modified shortly before this process
started is not recorded, since a later write within the same timestamp tick would
leave its stat unchanged. The hash name is stored, and a different one empties the
cache. It is only a cache: an unreadable database is deleted and started afresh.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

RACY_NS = 1_000_000_000  # coarser than any timestamp tick of the filesystems we run on

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, inode INTEGER, ctime_ns INTEGER,
    digest TEXT NOT NULL
);
"""


def _key(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns)


class StatCache:
    """Open with ``with StatCache(path, "sha256") as stats:``; new digests are saved on exit."""

    def __init__(self, path: Path, algorithm: str) -> None:
        self.path = path
        self.algorithm = algorithm
        self.started_ns = time.time_ns()
        self._pending: dict[str, tuple[int, int, int, int, str]] = {}
        self._rows: dict[str, tuple[int, int, int, int, str]] | None = None  # the table, read on the first lookup
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            try:
                return self._connect(self.path)
            except sqlite3.DatabaseError:
                self.path.unlink(missing_ok=True)
                return self._connect(self.path)
        except (sqlite3.Error, OSError):
            # A full disk or a read-only project must not stop a build: hash without remembering.
            return self._connect(":memory:")

    def _connect(self, path: Path | str) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=30)
        db.executescript(_SCHEMA)
        row = db.execute("SELECT value FROM meta WHERE key = 'algorithm'").fetchone()
        if row is None or row[0] != self.algorithm:
            with db:
                db.execute("DELETE FROM files")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('algorithm', ?)", (self.algorithm,))
        return db

    def lookup(self, path: Path, stat: os.stat_result) -> str | None:
        """The recorded digest if ``path`` still has exactly the recorded stat, else None."""
        if self._rows is None:  # one query for all rows: a no-op build looks up every file of the project
            self._rows = {row[0]: row[1:] for row in self._db.execute(
                "SELECT path, size, mtime_ns, inode, ctime_ns, digest FROM files")}
        row = self._rows.get(str(path))
        if row is None or tuple(row[:4]) != _key(stat):
            return None
        return row[4]

    def record(self, path: Path, stat: os.stat_result, digest: str) -> None:
        """Remember ``digest`` for this stat, unless the file is too recent to trust its stat."""
        if stat.st_mtime_ns > self.started_ns - RACY_NS:
            return
        self._pending[str(path)] = (*_key(stat), digest)

    def save(self) -> None:
        if not self._pending:
            return
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                    [(path, *row) for path, row in self._pending.items()],
                )
        except sqlite3.OperationalError:
            pass  # disk full or read-only: the digests are only lost for the next run, which re-hashes
        self._pending.clear()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StatCache:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.save()  # digests are right even if the command failed later: keep them
        finally:
            self.close()
