"""Putting a built folder in place without ever showing a half-written one, and the build lock.

A model folder is built in a hidden temp folder beside its final place (same file
system), then swapped in with one ``renameat2(RENAME_EXCHANGE)`` on Linux: a reader
or a kill -9 sees the old folder or the new one, never a mix. Where the exchange is
not supported, two renames leave a short window in which the folder is missing,
which the next build repairs ("output missing").

A build replaces only folders it wrote: one holding anything but model.json, weight
shards and the files its lock entry lists (``output_dir: .`` and a model named
``docs``) is refused, by the builder before any work and by ``place`` itself.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from collections.abc import Collection, Iterator
from itertools import islice
from pathlib import Path

from tfjs_build.engine.lockfile import output_file_problem
from tfjs_build.errors import TfjsBuildError
from tfjs_build.project import ProjectPaths
from tfjs_build.terminal import Console
from tfjs_build.util.atomic import FILE_MODE

MAX_SHOWN = 3  # foreign files named in a refusal
REFUSAL_FIX = "move those files, or choose another output_dir or model name"
# mkdtemp makes 0700 folders; a model folder gets what mkdir would give (0755 under umask 022):
# searchable wherever it is readable.
DIR_MODE = FILE_MODE | (FILE_MODE & 0o444) >> 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    import ctypes  # here: a no-op build swaps nothing

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


class ForeignFilesError(TfjsBuildError):
    """A model folder holds something no build wrote: replacing it would delete the user's files."""


def _foreign(folder: Path, owned: Collection[str], prefix: str = "") -> Iterator[str]:
    """Paths below ``folder`` (sorted, depth first) that a build did not write; subfolders are never ours."""
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        rel = prefix + entry.name
        if entry.is_dir(follow_symlinks=False):
            empty = True
            for found in _foreign(Path(entry.path), owned, rel + "/"):
                empty = False
                yield found
            if empty:
                yield rel + "/"
        elif not entry.is_file(follow_symlinks=False) or (rel not in owned and output_file_problem(rel)):
            yield rel  # a symlink, FIFO or socket, or a name no model output has


def ownership_problem(final: Path, owned: Collection[str] = ()) -> str | None:
    """Why the model folder ``final`` must not be replaced, or None when a build may replace it.

    Ours: a missing folder, or one holding only regular files that the model's lock entry
    lists (``owned``) or that a model output may be named (model.json, shards). Anything
    else was put there by someone else, e.g. ``output_dir: .`` and a model named ``docs``.
    """
    if not os.path.lexists(final):
        return None
    if final.is_symlink() or not final.is_dir():
        return f"is a {'symlink' if final.is_symlink() else 'file'}, not a folder tfjs-build wrote"
    foreign = list(islice(_foreign(final, frozenset(owned)), MAX_SHOWN + 1))
    if not foreign:
        return None
    more = " and more" if len(foreign) > MAX_SHOWN else ""
    return f"holds {', '.join(foreign[:MAX_SHOWN])}{more} that tfjs-build did not write"


def place(tmp: Path, final: Path, owned: Collection[str] = ()) -> None:
    """Put the folder ``tmp`` at ``final``, replacing what is there; readers never see a mix.

    Raises ForeignFilesError (``tmp`` left as it is) when ``final`` holds anything a build did
    not write (see ownership_problem; ``owned``: the paths of the model's lock entry).
    """
    if problem := ownership_problem(final, owned):
        raise ForeignFilesError(f"{final}: {problem}; refusing to replace it: {REFUSAL_FIX}")
    if final.is_dir() and not final.is_symlink():
        if not _exchange(tmp, final):
            old = tmp.with_name(tmp.name + ".old")
            os.rename(final, old)
            os.rename(tmp, final)
            tmp = old
        shutil.rmtree(tmp)
        return
    os.rename(tmp, final)  # nothing there: ownership_problem refuses a file or symlink in the way


def temp_dir(parent: Path, name: str) -> Path:
    import tempfile  # here: a no-op build makes no folder

    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}.tmp-"))
    path.chmod(DIR_MODE)
    return path


def remove_leftovers(output_dir: Path, paths: ProjectPaths) -> None:
    """Temp folders and tfjs.lock temp files of a build that was killed: safe to delete, we hold the build mutex."""
    for leftover in list(output_dir.glob(".*.tmp-*")) + list(paths.work_dir.glob(".*.tmp-*")):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in paths.lock_leftovers():
        leftover.unlink(missing_ok=True)


class BuildMutex:
    """An exclusive lock on the project's build mutex file; the kernel releases it if the process dies.

    Creating it raises OSError where the project is read-only (``READ_ONLY_ERRNOS``): nothing can be written there.
    """

    def __init__(self, paths: ProjectPaths, console: Console) -> None:
        paths.ensure_state_dir()
        self.path = paths.build_mutex
        self.console = console
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)

    def __enter__(self) -> BuildMutex:
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
