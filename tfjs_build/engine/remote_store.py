"""Which remote build cache ``cache.remote`` names, and whether this machine may write to it.

``https://`` and ``http://`` go to ``remote_cache.RemoteCache`` (any GET/PUT/HEAD server),
``s3://`` to ``remote_s3.S3RemoteCache``; both answer ``fetch``, ``push`` and ``close`` and
raise only RemoteCacheError, which the builder turns into one warning. ``cache.push: false``
or ``$TFJS_BUILD_CACHE_PUSH=0`` makes the remote read-only (a fork's pull request, which
must not write to the shared cache): ``push`` then sends nothing at all.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

from tfjs_build.config.records import CacheConfig
from tfjs_build.engine.local_cache import LocalCache
from tfjs_build.engine.lockfile import LockEntry
from tfjs_build.engine.remote_cache import RemoteCache, RemoteCacheError

PUSH_ENV = "TFJS_BUILD_CACHE_PUSH"
_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class Remote(Protocol):
    def fetch(self, fingerprint: str) -> bool: ...

    def fetch_all(self, fingerprints: Sequence[str]) -> set[str]: ...

    def push(self, entry: LockEntry) -> None: ...

    def close(self) -> None: ...


class _ReadOnly:
    """A remote that is read but never written."""

    def __init__(self, remote: Remote) -> None:
        self.remote = remote

    def fetch(self, fingerprint: str) -> bool:
        return self.remote.fetch(fingerprint)

    def fetch_all(self, fingerprints: Sequence[str]) -> set[str]:
        return self.remote.fetch_all(fingerprints)

    def push(self, entry: LockEntry) -> None:
        pass

    def close(self) -> None:
        self.remote.close()


def pushes(cache: CacheConfig) -> bool:
    """``$TFJS_BUILD_CACHE_PUSH`` when set, else ``cache.push``."""
    raw = os.environ.get(PUSH_ENV)
    if raw is None or raw.strip() == "":
        return cache.push
    if raw.strip().lower() in _YES + _NO:
        return raw.strip().lower() in _YES
    raise RemoteCacheError(f"${PUSH_ENV}={raw[:20]!r}: expected 1 or 0 (true or false)")


def open_remote(cache: CacheConfig, local: LocalCache) -> Remote:
    """The remote ``cache.remote`` names (which must be set), read-only unless this machine pushes."""
    assert cache.remote is not None
    if cache.remote.startswith("s3://"):
        from tfjs_build.engine.remote_s3 import S3RemoteCache

        remote: Remote = S3RemoteCache(cache, local)
    else:
        remote = RemoteCache(cache.remote, local)
    try:
        writable = pushes(cache)
    except RemoteCacheError:
        remote.close()
        raise
    return remote if writable else _ReadOnly(remote)
