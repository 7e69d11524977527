"""The optional remote build cache (``cache.remote``): any HTTP server that answers GET/PUT/HEAD.

Same shape as Bazel's HTTP cache, so bazel-remote or nginx WebDAV serve it:
``URL/ac/<fingerprint>`` holds a lock entry (JSON), ``URL/cas/<sha256>`` a file. CI
pushes what it builds; other machines fetch into their local cache, then restore
from there (which re-verifies every hash). Blobs are pushed before the entry, so a
reader never finds an entry whose files are not there yet.

It is an optimisation only: every failure becomes a RemoteCacheError that the
builder turns into one warning, and the build carries on without the remote. So
there are no retries, and timeouts are short. Credentials: ``https://user:pass@host``
in the URL, or a bearer token in ``$TFJS_BUILD_CACHE_TOKEN``.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import requests

from tfjs_build.engine.local_cache import LocalCache
from tfjs_build.engine.lockfile import LockEntry
from tfjs_build.publish.transport import redact

TOKEN_ENV = "TFJS_BUILD_CACHE_TOKEN"
TIMEOUT = (5, 60)  # connect, read: seconds
_BLOCK = 1 << 20


class RemoteCacheError(Exception):
    """The remote cache failed or refused a request; the message names the URL (without credentials)."""


class RemoteCache:
    def __init__(self, url: str, local: LocalCache) -> None:
        self.url = url.rstrip("/")
        self.local = local
        self.session = requests.Session()
        if token := os.environ.get(TOKEN_ENV):
            self.session.headers["Authorization"] = f"Bearer {token}"

    def fetch(self, fingerprint: str) -> bool:
        """Copy the entry for ``fingerprint`` and its blobs into the local cache; False if the remote lacks it."""
        response = self._request("GET", f"ac/{fingerprint}", ok=(200, 404))
        if response.status_code == 404:
            return False
        try:
            entry = LockEntry.from_json(json.loads(response.content))
        except (ValueError, KeyError, TypeError) as exc:
            raise RemoteCacheError(f"{redact(self.url)}/ac/{fingerprint}: not a cache entry ({exc})") from None
        if entry.fingerprint != fingerprint:
            raise RemoteCacheError(f"{redact(self.url)}/ac/{fingerprint}: holds the entry of {entry.fingerprint}")
        for f in entry.files:
            if not self.local.blob(f.sha256).exists():
                self._download_blob(f.sha256)
        self.local.add_entry(entry)
        return True

    def _download_blob(self, sha256: str) -> None:
        response = self._request("GET", f"cas/{sha256}", stream=True)
        digest = hashlib.sha256()
        with response, self.local.new_blob(sha256) as tmp, open(tmp, "wb") as out:
            for block in response.iter_content(_BLOCK):
                digest.update(block)
                out.write(block)
            if digest.hexdigest() != sha256:
                raise RemoteCacheError(f"{redact(self.url)}/cas/{sha256}: content does not match its hash")

    def push(self, entry: LockEntry) -> None:
        """Upload the blobs the remote lacks, then the entry."""
        for f in entry.files:
            if self._request("HEAD", f"cas/{f.sha256}", ok=(200, 404)).status_code == 404:
                with open(self.local.blob(f.sha256), "rb") as data:
                    self._request("PUT", f"cas/{f.sha256}", ok=(200, 201, 204), data=data)
        body = json.dumps(entry.to_json(), sort_keys=True).encode("utf-8")
        self._request("PUT", f"ac/{entry.fingerprint}", ok=(200, 201, 204), data=body)

    def _request(self, method: str, key: str, ok: tuple[int, ...] = (200,), **kwargs: Any) -> requests.Response:
        url = f"{self.url}/{key}"
        try:
            response = self.session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise RemoteCacheError(f"{method} {redact(url)}: {type(exc).__name__}: cannot reach it") from None
        if response.status_code not in ok:
            raise RemoteCacheError(f"{method} {redact(url)}: HTTP {response.status_code} {response.reason}")
        return response

    def close(self) -> None:
        self.session.close()
