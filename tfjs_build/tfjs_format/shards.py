"""Weight shard files: whole weights packed into files named after their content.

TF.js fetches a group's ``paths`` in manifest order, concatenates them and decodes the
weights one after another, so any cut loads. The cuts here fall only between weights:
a shard takes whole weights while they fit in ``shard_size`` bytes, and a weight larger
than that gets shards of its own (``shard_size`` each, the last shorter). Each shard is
named ``w-<first 16 hex digits of its sha256>.bin``. Together: a change to one weight's
values (a fine-tuned head) rewrites only the shards holding that weight, every other
shard keeps its bytes and so its name, its URL and the copy in a browser's HTTP cache.

Two shards with the same bytes share one file (and one name).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np

from tfjs_build.errors import TfjsBuildError

SHARD_PREFIX = "w-"
HASH_DIGITS = 16
SHARD_SUFFIX = ".bin"
_PARTIAL = ".shard.partial"


def shard_name(digest_hex: str) -> str:
    """The file name of a shard whose sha256 is ``digest_hex``."""
    return f"{SHARD_PREFIX}{digest_hex[:HASH_DIGITS]}{SHARD_SUFFIX}"


class ShardWriter:
    """One weight group's byte stream, cut between weights and stored as content-named files.

    Call ``start_weight(nbytes)`` before writing each weight's bytes, then ``write`` them
    (in as many pieces as convenient), and ``finish()`` for the group's paths.
    """

    def __init__(self, out_dir: Path, shard_size: int) -> None:
        self._out_dir = out_dir
        self._size = shard_size
        self._paths: list[str] = []
        self._file: BinaryIO | None = None
        self._digest = hashlib.sha256()
        self._filled = 0
        self._oversized = False  # the weight being written fills shards of its own

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        if self._file is not None:  # still open: finish() did not run
            self._file.close()
            self._file = None
            self._temp.unlink(missing_ok=True)
        if error is not None:  # a failed group leaves no shards behind
            for name in self._paths:
                (self._out_dir / name).unlink(missing_ok=True)

    @property
    def _temp(self) -> Path:
        return self._out_dir / _PARTIAL

    def start_weight(self, nbytes: int) -> None:
        """Cut here unless the next weight (``nbytes`` long) fits in the current shard."""
        if self._filled and (self._oversized or nbytes > self._size - self._filled):
            self._close_shard()
        self._oversized = nbytes > self._size

    def write(self, data: np.ndarray | bytes | bytearray) -> None:
        # ndarray.data is memoryview(data); numpy's stubs give ndarray the buffer protocol only on Python >= 3.12
        view = memoryview(data.data if isinstance(data, np.ndarray) else data).cast("B")
        while len(view):
            if self._file is None:
                self._file = open(self._temp, "wb")
            part = view[: self._size - self._filled]
            self._file.write(part)
            self._digest.update(part)
            self._filled += len(part)
            view = view[len(part):]
            if self._filled == self._size:
                self._close_shard()

    def finish(self) -> list[str]:
        """Close the last shard; return the group's shard paths in order."""
        if self._filled:
            self._close_shard()
        return self._paths

    def _close_shard(self) -> None:
        assert self._file is not None
        self._file.close()
        self._file = None
        name = shard_name(self._digest.hexdigest())
        os.replace(self._temp, self._out_dir / name)  # an equal shard already there has the same bytes
        self._paths.append(name)
        self._digest = hashlib.sha256()
        self._filled = 0


class ShardReader:
    """The concatenation of a group's shard files, read sequentially."""

    def __init__(self, paths: list[Path]) -> None:
        self._paths = list(paths)
        self._file: BinaryIO | None = None

    def read(self, size: int) -> bytes:
        parts = []
        while size > 0:
            if self._file is None:
                if not self._paths:
                    raise TfjsBuildError("weight shards are shorter than the manifest says; rebuild the model")
                self._file = open(self._paths.pop(0), "rb")
            part = self._file.read(size)
            if not part:
                self._file.close()
                self._file = None
                continue
            parts.append(part)
            size -= len(part)
        return b"".join(parts)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
