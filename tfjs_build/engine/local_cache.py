"""The local content-addressed build cache: a model's outputs stored under its fingerprint.

Layout (under ``config.cache.dir``)::

    entries/ab/<fingerprint>.json   the lock entry (which lists every output file and its sha256)
    blobs/cd/<sha256>               file contents, shared by every entry that has them

Switching branches back and forth restores a model by copying its blobs instead of
converting it again. Every blob is re-hashed while it is copied out, so a corrupt
entry is detected, discarded and rebuilt rather than installed. Entries are touched
when used; ``gc`` drops the least recently used ones until the blobs fit the budget.
A remote store (``remote_cache.py``) fills this local cache; restores always come from here.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from tfjs_build.engine.lockfile import LockEntry
from tfjs_build.util.atomic import atomic_path, atomic_write_text

_BLOCK = 1 << 20


def _new_file(path: str, flags: int) -> int:
    """os.open for a file that must not exist yet, never following a symlink (open(..., opener=_new_file))."""
    return os.open(path, flags | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)


class CorruptEntry(Exception):
    """A cache entry failed verification; it has been removed. The message says what was wrong."""


@dataclass(frozen=True)
class GcResult:
    removed_entries: int
    removed_bytes: int
    kept_bytes: int


class LocalCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _entry(self, fingerprint: str) -> Path:
        return self.root / "entries" / fingerprint[:2] / f"{fingerprint}.json"

    def blob(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / sha256

    def has_entry(self, fingerprint: str) -> bool:
        return self._entry(fingerprint).is_file()

    def store(self, entry: LockEntry, folder: Path) -> None:
        """Add the files of ``folder`` (described by ``entry.files``) and then the entry itself."""
        for f in entry.files:
            if not self.blob(f.sha256).is_file():
                self._remove_blob(f.sha256)  # a folder or link in a blob's place is repaired, not kept
                with self.new_blob(f.sha256) as tmp:
                    shutil.copyfile(folder / f.path, tmp)
        self.add_entry(entry)

    def new_blob(self, sha256: str) -> AbstractContextManager[Path]:
        """A temp path to write blob ``sha256`` to; renamed into place when the block succeeds."""
        return atomic_path(self.blob(sha256))

    def add_entry(self, entry: LockEntry) -> None:
        """Record ``entry`` (after its blobs: an entry is only ever visible once complete)."""
        atomic_write_text(self._entry(entry.fingerprint), json.dumps(entry.to_json(), sort_keys=True))

    def restore(self, fingerprint: str, dest: Path) -> LockEntry | None:
        """Copy the entry's files into the empty folder ``dest``; None when there is no entry.

        Raises CorruptEntry (after deleting the entry) when a file is missing or its hash differs.
        """
        path = self._entry(fingerprint)
        try:
            entry = LockEntry.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (ValueError, RecursionError) as exc:  # LockEntry.from_json turns any malformed value into ValueError
            path.unlink(missing_ok=True)
            raise CorruptEntry(f"cache entry {path} is unreadable ({exc})") from None
        for f in entry.files:
            problem = self._copy_verified(f.sha256, f.size, dest / f.path)
            if problem:
                path.unlink(missing_ok=True)
                self._remove_blob(f.sha256)
                raise CorruptEntry(f"cache entry for {f.path} ({self.blob(f.sha256)}) {problem}")
        os.utime(path)  # most recently used: last to go in gc
        return entry

    def _copy_verified(self, sha256: str, size: int, target: Path) -> str | None:
        """Copy one blob to ``target`` while hashing it; the problem found, or None.

        ``target`` must be new: a file or symlink already there (planted in the fresh temp folder)
        raises FileExistsError rather than being written through.
        """
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, copied = hashlib.sha256(), 0
        try:
            with open(self.blob(sha256), "rb") as src, open(target, "xb", opener=_new_file) as out:
                while block := src.read(_BLOCK):
                    digest.update(block)
                    copied += len(block)
                    out.write(block)
        except FileNotFoundError:
            return "is missing"
        except IsADirectoryError:
            return "is a folder, not a file"
        if copied != size or digest.hexdigest() != sha256:
            return f"is corrupt (sha256 {digest.hexdigest()[:12]}..., {copied} bytes)"
        return None

    def remove_leftovers(self) -> None:
        """Temp files of entry or blob writes a kill interrupted (``.NAME.XXXX.tmp``): call under the build mutex."""
        for pattern in ("entries/*/.*.tmp", "blobs/*/.*.tmp"):
            for leftover in self.root.glob(pattern):
                _remove(leftover)

    def _remove_blob(self, sha256: str) -> None:
        _remove(self.blob(sha256))

    def gc(self, max_size: int) -> GcResult:
        """Drop least recently used entries until their blobs total <= max_size; drop unreferenced blobs."""
        entries = sorted(self._entries(), key=lambda item: item[1], reverse=True)  # newest first
        keep: set[str] = set()
        kept_bytes, removed_entries = 0, 0
        for path, _, files in entries:
            extra = sum(size for sha, size in files.items() if sha not in keep)
            if kept_bytes + extra <= max_size:
                keep.update(files)
                kept_bytes += extra
            else:
                path.unlink(missing_ok=True)
                removed_entries += 1
        removed_bytes = 0
        for blob in self.root.glob("blobs/*/*"):
            if blob.name not in keep:
                removed_bytes += blob.stat().st_size
                _remove(blob)
        return GcResult(removed_entries, removed_bytes, kept_bytes)

    def _entries(self) -> list[tuple[Path, int, dict[str, int]]]:
        """(path, mtime_ns, {sha256: size}) of every readable entry; unreadable ones are deleted."""
        found = []
        for path in self.root.glob("entries/*/*.json"):
            try:
                entry = LockEntry.from_json(json.loads(path.read_text(encoding="utf-8")))
                found.append((path, path.stat().st_mtime_ns, {f.sha256: f.size for f in entry.files}))
            except (OSError, ValueError, RecursionError):
                path.unlink(missing_ok=True)
        return found


def _remove(path: Path) -> None:
    """Delete whatever stands at ``path``, a folder included (a blob replaced by one is repaired)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
