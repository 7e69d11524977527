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


def read_lock_at(ref: str, lock_path: Path, *, outside_git: str = "run it in a git checkout, or drop --base") -> BaseLock:
    """The lock file at ``lock_path`` (in the working tree) as committed at ``ref``; ``outside_git`` is the fix
    named when there is no repository (a command whose --base was not given has none to drop)."""
    try:
        import git  # GitPython: only paid for when comparing with a ref
    except ImportError as exc:  # GitPython refuses to import when no git executable is found
        raise TfjsBuildError(f"--base {ref} needs git: {exc}; install git or drop --base") from None

    try:
        repo = git.Repo(lock_path.parent, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise TfjsBuildError(
            f"{lock_path.parent}: not inside a git repository, so --base {ref} cannot be read; {outside_git}"
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
        relative = lock_path.resolve().relative_to(Path(repo.working_tree_dir).resolve()).as_posix()
        short = commit.hexsha[:7]
        try:
            blob = commit.tree / relative
        except KeyError:
            return BaseLock(ref, short, Lock({}), found=False)
        text = blob.data_stream.read().decode("utf-8", "replace")  # parse_lock names a garbled file
    where = f"{relative} at {ref} ({short})"
    fix = "pass another --base: a lock in a commit cannot be repaired, only a later one can be compared"
    return BaseLock(ref, short, parse_lock(text, where, fix), found=True)
