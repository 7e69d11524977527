"""Facts about a built model folder (files, hashes, bytes on the wire) and whether it still matches the lock.

Computed once, in the worker that built the model, and stored in tfjs.lock, so that
checks and reports read sizes without touching the files again. Transfer size is
what a CDN sends: each file gzip -9 compressed on its own (brotli too when the
optional ``brotli`` module is installed).
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

from tfjs_build.engine.fingerprint import digest_files, list_files  # its HASH_NAME is sha256, as the lock's
from tfjs_build.engine.lockfile import OutputFile
from tfjs_build.engine.stat_cache import StatCache

_BLOCK = 1 << 20

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


def output_problem(folder: Path, expected: tuple[OutputFile, ...], stats: StatCache) -> str | None:
    """None when ``folder`` holds exactly the locked files, else the stale reason."""
    if not folder.is_dir() or any(not (folder / f.path).is_file() for f in expected):
        return "output missing"
    if list_files(folder) != [f.path for f in expected]:
        return "output modified"
    for f in expected:
        if (folder / f.path).stat().st_size != f.size:
            return "output modified"
    digests = digest_files([folder / f.path for f in expected], stats)
    if any(digests[folder / f.path] != f.sha256 for f in expected):
        return "output modified"
    return None
