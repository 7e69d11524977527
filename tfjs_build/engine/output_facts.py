"""Facts about a built model folder (files, hashes, bytes on the wire) and whether it still matches the lock.

Computed once, in the worker that built the model, and stored in tfjs.lock, so that
checks and reports read sizes without touching the files again. Transfer size is
what a CDN sends: each file gzip -9 compressed on its own (brotli too when the
optional ``brotli`` module is installed).
"""

from __future__ import annotations

import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from tfjs_build.engine.fingerprint import digest_stated, list_files  # its HASH_NAME is sha256, as the lock's
from tfjs_build.engine.lockfile import OutputFile
from tfjs_build.engine.stat_cache import StatCache

_BLOCK = 1 << 20
MAX_SHOWN = 5  # files named in a mismatch; the rest are counted

try:  # optional: brotli sizes when the module is installed
    import brotli as _brotli
except ImportError:  # pragma: no cover - depends on the environment
    _brotli = None


@dataclass(frozen=True)
class OutputFacts:
    files: tuple[OutputFile, ...]  # sorted by path
    size: int
    transfer: int
    transfer_brotli: int | None
    shards: int


def describe_output(folder: Path) -> OutputFacts:
    files, transfer, brotli_total = [], 0, 0
    for rel in list_files(folder):
        digest, size, gzipped, brotlied = _measure(folder / rel)
        files.append(OutputFile(path=rel, size=size, sha256=digest))
        transfer += gzipped
        brotli_total += brotlied
    return OutputFacts(
        files=tuple(files),
        size=sum(f.size for f in files),
        transfer=transfer,
        transfer_brotli=brotli_total if _brotli is not None else None,
        shards=sum(1 for f in files if f.path.endswith(".bin")),
    )


def _measure(path: Path) -> tuple[str, int, int, int]:
    """sha256, size, gzip -9 size (header mtime 0, so deterministic) and brotli size of one file."""
    digest, size, gzipped = hashlib.sha256(), 0, 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
            size += len(block)
            gzipped += len(compressor.compress(block))
    gzipped += len(compressor.flush())
    brotlied = len(_brotli.compress(path.read_bytes(), quality=11)) if _brotli is not None else 0
    return digest.hexdigest(), size, gzipped, brotlied


@dataclass(frozen=True)
class OutputMismatch:
    """How a model folder differs from its lock entry: ``reason`` is the word status shows, ``detail`` names the
    files for check's message."""

    reason: str  # "output missing" or "output modified"
    detail: str  # "model.json, w-1.bin missing or not as recorded in tfjs.lock"


def output_mismatch(folder: Path, expected: tuple[OutputFile, ...], stats: StatCache) -> OutputMismatch | None:
    """None when ``folder`` holds exactly the locked files with the locked sha256 (read through the stat cache,
    so unchanged files are not hashed again), else how it differs. Status and check both ask this.

    One scan of the folder and one stat per file: a no-op build asks this of every model. The lock's files
    are all top-level names (LockEntry refuses anything else), so the folder's own entries are all there is."""
    try:
        with os.scandir(folder) as scan:
            entries = {entry.name: entry for entry in scan}
    except (FileNotFoundError, NotADirectoryError):
        return OutputMismatch("output missing", "is not a model folder (a file in its place?)")
    found = {f.path: entries[f.path] for f in expected if f.path in entries and entries[f.path].is_file()}
    absent = {f.path for f in expected if f.path not in found}  # a FIFO or folder is never opened
    sizes = {name: entry.stat() for name, entry in found.items()}
    wrong = {f.path for f in expected if f.path in sizes and sizes[f.path].st_size != f.size}
    if not wrong:
        digests = digest_stated([(Path(entry.path), sizes[name]) for name, entry in found.items()], stats)
        wrong = {f.path for f in expected if f.path in found and digests[Path(found[f.path].path)] != f.sha256}
    if absent or wrong:
        named = _names([f.path for f in expected if f.path in absent | wrong])
        return OutputMismatch("output missing" if absent else "output modified",
                              f"{named} missing or not as recorded in tfjs.lock")
    if extra := sorted(set(entries) - {f.path for f in expected}):
        return OutputMismatch("output modified", f"holds {_names(extra)}, which tfjs.lock does not list")
    return None


def _names(paths: list[str]) -> str:
    more = f" and {len(paths) - MAX_SHOWN} more" if len(paths) > MAX_SHOWN else ""
    return ", ".join(paths[:MAX_SHOWN]) + more
