"""Read ``tfjs.lock`` as it was at a git ref, so a diff needs no rebuild of the base.

The lock records every size, so comparing with main is reading one blob from git
(GitPython). GitPython is imported here only, and only when a base ref is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tfjs_build.engine.lockfile import Lock, parse_lock
from tfjs_build.errors import TfjsBuildError


@dataclass(frozen=True)
class BaseLock:
    ref: str
    commit: str  # short sha the ref resolved to
    lock: Lock
    found: bool  # False when the ref has no tfjs.lock at that path (every model is new)


@dataclass(frozen=True)
class FileAtRef:
    """A project file as committed at a git ref; ``text`` is None when the ref has no such file."""

    ref: str
    commit: str  # short sha the ref resolved to
    where: str  # "tfjs.lock at main (1a2b3c4)", for messages
    text: str | None


def read_lock_at(ref: str, lock_path: Path, *, outside_git: str = "run it in a git checkout, or drop --base") -> BaseLock:
    """The lock file at ``lock_path`` (in the working tree) as committed at ``ref``; ``outside_git`` is the fix
    named when there is no repository (a command whose --base was not given has none to drop)."""
    found = read_file_at(ref, lock_path, outside_git=outside_git)
    if found.text is None:
        return BaseLock(ref, found.commit, Lock({}), found=False)
    fix = "pass another --base: a lock in a commit cannot be repaired, only a later one can be compared"
    return BaseLock(ref, found.commit, parse_lock(found.text, found.where, fix), found=True)


def read_file_at(ref: str, path: Path, *, outside_git: str = "run it in a git checkout, or drop --base") -> FileAtRef:
    """The file at ``path`` (in the working tree) as committed at ``ref`` (tfjs.lock, tfjs.bench.json)."""
    try:
        import git  # GitPython: only paid for when comparing with a ref
    except ImportError as exc:  # GitPython refuses to import when no git executable is found
        raise TfjsBuildError(f"--base {ref} needs git: {exc}; install git or drop --base") from None

    try:
        repo = git.Repo(path.parent, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise TfjsBuildError(
            f"{path.parent}: not inside a git repository, so --base {ref} cannot be read; {outside_git}"
        ) from None
    with repo:
        if repo.working_tree_dir is None:  # a bare repository: no checkout to place the lock in
            raise TfjsBuildError(f"{repo.git_dir}: a bare git repository; run --base {ref} in a checkout")
        try:
            commit = repo.commit(ref)
        except (git.BadName, git.BadObject, ValueError):
            raise TfjsBuildError(
                f"--base {ref}: no such branch, tag or commit in {repo.working_tree_dir}; "
                f"fetch it first (e.g. `git fetch origin {ref}`; with actions/checkout use fetch-depth: 0)"
            ) from None
        relative = path.resolve().relative_to(Path(repo.working_tree_dir).resolve()).as_posix()
        short = commit.hexsha[:7]
        try:
            blob = commit.tree / relative
        except KeyError:
            return FileAtRef(ref, short, f"{relative} at {ref} ({short})", None)
        text = blob.data_stream.read().decode("utf-8", "replace")  # the parser names a garbled file
    return FileAtRef(ref, short, f"{relative} at {ref} ({short})", text)
