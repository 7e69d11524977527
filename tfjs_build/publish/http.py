"""Publish to a plain HTTP origin that accepts PUT (WebDAV: nginx ``dav_methods PUT``, Apache, ...).

HEAD (asking for the identity encoding, so a gzipping origin still sends Content-Length)
says whether an immutable object is already there; PUT uploads; DELETE prunes. A PUT
carries no lasting headers, so Cache-Control is the origin's job: serve ``w-<16 hex>.bin``,
``model-<16 hex>.json`` and ``<16 hex>/*`` with ``public, max-age=31536000, immutable`` and
``latest.json`` / ``versions.json`` with ``no-cache`` (docs/frontdoors.md has the nginx lines).

    publish:
      origin:
        type: http
        url: https://models.example.com/tfjs     # objects go to URL/MODEL/... (a ?query stays on each)
        token_env: ORIGIN_TOKEN                   # optional: Authorization: Bearer $ORIGIN_TOKEN
        basic_auth_env: ORIGIN_AUTH               # optional: user:password for Basic auth
                                                  # (else user:password@ in the URL, if any)

Messages and printed plans show URLs only through ``redact`` (no credentials, no query).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from typing import Any

import requests

from tfjs_build.config import PublishTarget
from tfjs_build.config.kinds import EnvName, Url
from tfjs_build.publish.base import Log, Outcome, Planned, Pruned, Stored, plan_store, publish_to_store, stored_md5
from tfjs_build.publish.bundle import Bundle
from tfjs_build.publish.options import Options, option
from tfjs_build.publish.transport import PublishError, Transport
from tfjs_build.util.urls import credentials, join_url, redact, without_credentials


@dataclass(frozen=True)
class HttpOptions:
    url: str = field(metadata=option(Url("an http:// or https:// URL"), required="for a publish target of type http"))
    token_env: str | None = field(default=None, metadata=option(EnvName()))
    basic_auth_env: str | None = field(default=None, metadata=option(EnvName()))


class HttpTarget:
    def __init__(self, target: PublishTarget) -> None:
        self.options = Options(target, HttpOptions)
        self.where = target.where()
        url = self.options.record.url
        self._url_credentials = credentials(url)
        self.base = without_credentials(url)  # the query stays: a signed URL needs it on every request
        self._transport: Transport | None = None

    def address(self, key: str) -> str:
        """Where ``key`` is sent: its path joined onto the URL's, before any query."""
        return join_url(self.base, key)

    def url(self, key: str) -> str:
        return redact(self.address(key))

    def plan(self, bundle: Bundle) -> list[Planned]:
        """No Cache-Control: a PUT stores no headers, the origin sets them (docs/frontdoors.md shows how)."""
        return [replace(p, cache_control="") for p in plan_store(self, "", bundle)]

    def publish(self, bundle: Bundle, log: Log) -> Outcome:
        return publish_to_store(self, "", bundle, log)

    def prune(self, model: str, keep: int, dry_run: bool, log: Log) -> Pruned:
        from tfjs_build.publish.prune import prune_store

        return prune_store(self, "", model, keep, dry_run=dry_run, log=log)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # ------------------------------------------------------------ ObjectStore

    def stat(self, key: str) -> Stored | None:
        # identity: an origin that gzips JSON answers a HEAD that accepts gzip with no Content-Length
        response = self._request("HEAD", key, ok=(200, 404), headers={"Accept-Encoding": "identity"})
        if response.status_code == 404:
            return None
        headers = response.headers
        length = headers.get("content-length", "")
        encoded = headers.get("content-encoding", "identity").lower() != "identity"
        size = int(length) if length.isdigit() and not encoded else None
        return Stored(size, stored_md5(headers.get("etag"), headers.get("content-md5")))

    def read(self, key: str) -> bytes | None:
        response = self._request("GET", key, ok=(200, 404))
        return None if response.status_code == 404 else response.content

    def put(self, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        self._request("PUT", key, ok=(200, 201, 204), data=data,
                      headers={"Content-Type": content_type, "Cache-Control": cache_control})

    def delete(self, key: str) -> None:
        self._request("DELETE", key, ok=(200, 204, 404))

    def list_keys(self, prefix: str) -> None:
        return None  # plain HTTP has no listing: history.py then knows only the index and latest.json

    def _request(self, method: str, key: str, **kwargs: Any) -> requests.Response:
        try:
            return self._connect().request(method, self.address(key), **kwargs)
        except PublishError as exc:
            raise PublishError(f"{self.where}: {exc}; check `url` and that the origin accepts PUT") from None

    def _connect(self) -> Transport:
        if self._transport is None:
            self._transport = Transport(self._auth_headers())
        return self._transport

    def _auth_headers(self) -> dict[str, str]:
        token = self.options.secret("token_env", required="token_env" in self.options.values)
        if token:
            return {"Authorization": f"Bearer {token}"}
        basic = self.options.secret("basic_auth_env", required="basic_auth_env" in self.options.values)
        if not basic and self._url_credentials is not None:
            basic = ":".join(self._url_credentials)
        if basic:
            return {"Authorization": "Basic " + base64.b64encode(basic.encode("utf-8")).decode("ascii")}
        return {}
