"""Putting a built folder in place without ever showing a half-written one, and the build lock.

A model folder is built in a hidden temp folder beside its final place (same file
system), then swapped in with one ``renameat2(RENAME_EXCHANGE)`` on Linux: a reader
or a kill -9 sees the old folder or the new one, never a mix. Where the exchange is
not supported, two renames leave a short window in which the folder is missing,
which the next build repairs ("output missing").
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
import tempfile
from pathlib import Path

from tfjs_build.atomic import FILE_MODE
from tfjs_build.console import Console

BUILD_LOCK_NAME = "build.lock"
# mkdtemp makes 0700 folders; a model folder gets what mkdir would give (0755 under umask 022):
# searchable wherever it is readable.
DIR_MODE = FILE_MODE | (FILE_MODE & 0o444) >> 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def place(tmp: Path, final: Path) -> None:
    """Put the folder ``tmp`` at ``final``, replacing what is there; readers never see a mix."""
    if final.is_dir() and not final.is_symlink():
        if not _exchange(tmp, final):
            old = tmp.with_name(tmp.name + ".old")
            os.rename(final, old)
            os.rename(tmp, final)
            tmp = old
        shutil.rmtree(tmp)
        return
    if final.exists() or final.is_symlink():
        final.unlink()
    os.rename(tmp, final)


def temp_dir(parent: Path, name: str) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}.tmp-"))
    path.chmod(DIR_MODE)
    return path


def remove_leftovers(output_dir: Path, work_root: Path) -> None:
    """Temp folders of a build that was killed: safe to delete, we hold the build lock."""
    for leftover in list(output_dir.glob(".*.tmp-*")) + list(work_root.glob(".*.tmp-*")):
        shutil.rmtree(leftover, ignore_errors=True)


class BuildLock:
    """An exclusive lock on .tfjs-build/build.lock; the kernel releases it if the process dies."""

    def __init__(self, state_dir: Path, console: Console) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / BUILD_LOCK_NAME
        self.console = console
        self._fd = -1

    def __enter__(self) -> "BuildLock":
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "?"
            self.console.info(f"waiting for another build to finish (pid {holder}, lock {self.path})")
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)  # closing releases the flock
