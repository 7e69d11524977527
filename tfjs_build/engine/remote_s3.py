"""The remote build cache in an S3 bucket (``cache.remote: s3://BUCKET/PREFIX``): AWS, R2, MinIO, GCS.

The same store as the HTTP remote (``remote_cache.py``): ``PREFIX/ac/<fingerprint>`` holds
an entry, ``PREFIX/cas/<sha256>`` a file, blobs pushed before their entry (an S3 PUT is
atomic, so a runner killed mid-push leaves blobs without an entry, never an entry without
its blobs). Only the transport differs, so this class is the HTTP one with its
``_request`` answered by boto3: fetching, hash checks, size limits, the push order and
the one-failure-and-done rule are shared, not repeated. The boto3 client is the S3
publish target's (``publish.s3.make_client``), with ``endpoint_url``, ``region``,
``addressing_style`` and the credential variables taken from the ``cache:`` section,
no retries, and the request deadline as its connect/read timeout; a body is also cut
off once the deadline has passed, so a trickling server cannot hold the build.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from tfjs_build.config.records import CacheConfig
from tfjs_build.engine.local_cache import LocalCache
from tfjs_build.engine.remote_cache import BUDGET_FACTOR, DEADLINE_ENV, RemoteCache, RemoteCacheError
from tfjs_build.errors import TfjsBuildError
from tfjs_build.util.urls import server_text

_MISSING = {"404", "NoSuchKey", "NotFound"}
_BLOCK = 1 << 16


class S3RemoteCache(RemoteCache):
    def __init__(self, cache: CacheConfig, local: LocalCache) -> None:
        assert cache.remote is not None and cache.remote.startswith("s3://")
        super().__init__(cache.remote, local)
        bucket, _, prefix = cache.remote.removeprefix("s3://").partition("/")
        self.bucket, self.prefix = bucket, f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.cache = cache
        self._client: Any = None

    def fetch_all(self, fingerprints: Sequence[str]) -> set[str]:
        self._guarded(self._connect)  # one client, made before the fetching threads share it (boto3's are thread-safe)
        return super().fetch_all(fingerprints)

    def close(self) -> None:
        super().close()
        if self._client is not None:
            self._client.close()

    def _request(self, method: str, key: str, ok: tuple[int, ...] = (200,), *,
                 sink: Callable[[bytes], object] | None = None, limit: int = 0, **kwargs: Any) -> int:
        """One S3 call in place of one HTTP request: 200, 404 (when ``ok`` allows it) or RemoteCacheError."""
        what = f"{method} s3://{self.bucket}/{self.prefix}{key}"
        if self.budget_end - self.clock() <= 0:
            raise RemoteCacheError(f"{what}: not sent, this build's time for the remote cache "
                                   f"({BUDGET_FACTOR * self.deadline:g} s) is used up")
        deadline = time.monotonic() + self.deadline
        try:
            status = self._call(method, self.prefix + key, sink, limit, deadline, kwargs.get("data"))
        except RemoteCacheError as exc:
            raise RemoteCacheError(f"{what}: {exc}") from None
        if status not in ok:
            raise RemoteCacheError(f"{what}: HTTP {status}")
        return status

    def _call(self, method: str, key: str, sink: Callable[[bytes], object] | None, limit: int,
              deadline: float, data: Any) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._connect()
        try:
            if method == "HEAD":
                client.head_object(Bucket=self.bucket, Key=key)
            elif method == "PUT":
                client.put_object(Bucket=self.bucket, Key=key, Body=data)
            else:
                body = client.get_object(Bucket=self.bucket, Key=key)
                _receive(body, sink, limit, deadline)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code in _MISSING and method in ("GET", "HEAD"):
                return 404
            raise RemoteCacheError(server_text(f"{code} {error.get('Message', '')}".strip() or "refused")) from None
        except BotoCoreError as exc:  # no credentials, no connection, a timeout, a body cut short
            raise RemoteCacheError(f"{type(exc).__name__}: {server_text(exc, 200)}") from None
        return 200

    def _connect(self) -> Any:
        if self._client is None:
            from tfjs_build.publish.s3 import make_client

            keys = (_secret(self.cache.access_key_id_env), _secret(self.cache.secret_access_key_env))
            try:
                self._client = make_client("cache.remote", self.cache.endpoint_url, self.cache.region,
                                           self.cache.addressing_style, keys, attempts=1, timeout=self.deadline)
            except TfjsBuildError as exc:  # boto3 is not installed
                raise RemoteCacheError(str(exc)) from None
        return self._client


def _secret(name: str | None) -> str | None:
    """The value of the variable ``name`` (never shown); None when no variable is named."""
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        raise RemoteCacheError(f"cache: ${name} (named by a *_env key) is not set; set it, or remove the key to use "
                               "boto3's own credentials (AWS_ACCESS_KEY_ID, profiles, instance roles)")
    return value


def _receive(response: dict[str, Any], sink: Callable[[bytes], object] | None, limit: int, deadline: float) -> None:
    """Hand the body to ``sink``: no more than ``limit`` bytes, and none after ``deadline``."""
    if int(response.get("ContentLength") or 0) > limit:
        raise RemoteCacheError(f"longer than the {limit} bytes expected")
    received = 0
    for block in response["Body"].iter_chunks(_BLOCK):
        received += len(block)
        if received > limit:
            raise RemoteCacheError(f"longer than the {limit} bytes expected")
        if time.monotonic() > deadline:
            raise RemoteCacheError(f"no complete answer in time (${DEADLINE_ENV})")
        if sink is not None:
            sink(block)
