"""The files of a model's source folder (a SavedModel), listed as the converter will read them.

TensorFlow follows symlinks, so the fingerprint follows them too: a link that stays inside the
project is walked, and its target's bytes are hashed under the link's own path. A link that leads
out of the project is refused, as a source path outside it is (edits there would leave the model
"fresh"), and so are a link loop, a broken link and anything that is not a regular file or folder:
reading a FIFO would block forever (a hung ``status``), a socket or a device has no bytes to hash.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tfjs_build.config import ModelConfig
from tfjs_build.errors import SourceError

_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"))


def source_files(model: ModelConfig, folder: Path, root: Path) -> list[str]:
    """Every regular file below ``folder``, as sorted "/"-separated relative paths, links inside ``root`` (the
    project) followed; SourceError naming the model and the file for anything the converter could read but
    the fingerprint could not follow."""
    root = root.resolve()
    found: list[str] = []
    start = folder.resolve()
    pending = [("", folder, start, frozenset({start}))]  # (relative prefix, folder, its real path, real folders above)
    while pending:
        prefix, current, real_current, above = pending.pop()
        with os.scandir(current) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        for entry in entries:
            path = Path(entry.path)
            if entry.is_symlink():
                _check_link(model, path, root)
            if entry.is_dir():  # a link to a folder counts: TensorFlow reads through it
                real = path.resolve() if entry.is_symlink() else real_current / entry.name
                if real in above:
                    raise SourceError(f"{_where(model, path, root)} is a symlink to {real}, a folder that holds it "
                                      "(a loop); remove the link")
                pending.append((f"{prefix}{entry.name}/", path, real, above | {real}))
            elif entry.is_file():
                found.append(prefix + entry.name)
            else:
                raise SourceError(f"{_where(model, path, root)} is {_kind(path)}, not a regular file; TensorFlow "
                                  "would read it as part of the model and tfjs-build cannot fingerprint it: remove it")
    return sorted(found)


def _check_link(model: ModelConfig, path: Path, root: Path) -> None:
    if not path.exists():
        raise SourceError(f"{_where(model, path, root)} is a broken symlink (to {os.readlink(path)}); "
                          "restore its target or remove the link")
    target = path.resolve()
    if not target.is_relative_to(root):
        raise SourceError(f"{_where(model, path, root)} is a symlink to {target}, outside the project ({root}); "
                          "tfjs-build would not see edits there: copy those files into the project")


def _where(model: ModelConfig, path: Path, root: Path) -> str:
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    return f"{model.where('source')}: {shown}"


def _kind(path: Path) -> str:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    return next((name for test, name in _KINDS if test(mode)), "neither a file nor a folder")
