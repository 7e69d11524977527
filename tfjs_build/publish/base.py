"""The protocol every publish target implements, and the shared upload loop of object stores.

A target turns a Bundle into uploads. Object stores (S3, a WebDAV origin) share one
layout and one loop: ``MODEL/DIGEST/FILE`` objects are immutable, so one that is
already there with the right size (and the right MD5, where the store reports one) is
skipped; when the store cannot tell (an origin that gzips and so sends no length) or
disagrees, the object is fetched and compared by sha256, and an object holding other
bytes is refused, never overwritten. ``MODEL/latest.json`` is the one mutable pointer,
compared byte for byte. Shards go first, model.json after them, the pointer last, so a
reader never sees a model.json whose shards are missing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from tfjs_build.publish.bundle import IMMUTABLE, MODEL_JSON, NO_CACHE, Bundle, PublishFile
from tfjs_build.publish.transport import PublishError

POINTER = "latest.json"

Log = Callable[[str], None]


@dataclass
class Outcome:
    """What one publish of one model did; ``location`` is where model.json now lives."""

    model: str
    location: str
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    uploaded_bytes: int = 0


@dataclass(frozen=True)
class Planned:
    """One upload a dry run would do (without asking the target what it already has)."""

    destination: str
    size: int
    cache_control: str


class Target(Protocol):
    def plan(self, bundle: Bundle) -> list[Planned]:
        """Every upload, in order, without touching the network."""

    def publish(self, bundle: Bundle, log: Log) -> Outcome:
        """Upload what is missing; publishing the same bundle again uploads nothing."""

    def close(self) -> None:
        """Release connections."""


@dataclass(frozen=True)
class Stored:
    """What a store says about an object it has: its size and its MD5 (hex), each None when it does not say."""

    size: int | None
    md5: str | None = None


_MD5_ETAG = re.compile(r'^"?([0-9a-f]{32})"?$')


def stored_md5(etag: str | None, content_md5: str | None = None) -> str | None:
    """The MD5 a store reports: ``Content-MD5`` (base64), or an ETag of 32 hex digits (S3's single-part PUT).
    Other ETags (nginx's mtime-size, multipart) say nothing about content. A wrong guess costs a GET, not a
    wrong answer: a mismatch is checked by sha256."""
    if content_md5:
        try:
            return base64.b64decode(content_md5, validate=True).hex()
        except (binascii.Error, ValueError):
            return None
    match = _MD5_ETAG.match((etag or "").lower())
    return match.group(1) if match else None


class ObjectStore(Protocol):
    where: str  # "tfjs.yaml:LINE:COL: publish.NAME", for messages

    def url(self, key: str) -> str:
        """A human-readable address of ``key`` (for messages and outputs)."""

    def stat(self, key: str) -> Stored | None:
        """What the store says about ``key``, or None when it does not exist."""

    def read(self, key: str) -> bytes | None:
        """The bytes of a small object, or None when it does not exist."""

    def put(self, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        """Store ``data`` at ``key``."""


def store_layout(prefix: str, bundle: Bundle) -> list[tuple[str, int, str]]:
    """(key, size, cache_control) of every object, in upload order, pointer last."""
    base = f"{prefix}{bundle.model}/"
    objects = [(f"{base}{bundle.digest}/{f.name}", f.size, IMMUTABLE) for f in bundle.files]
    objects.append((f"{base}{POINTER}", len(bundle.pointer()), NO_CACHE))
    return objects


def plan_store(store: ObjectStore, prefix: str, bundle: Bundle) -> list[Planned]:
    return [Planned(store.url(key), size, cache) for key, size, cache in store_layout(prefix, bundle)]


def publish_to_store(store: ObjectStore, prefix: str, bundle: Bundle, log: Log) -> Outcome:
    """Upload the immutable files that are missing, then update the pointer if it changed."""
    base = f"{prefix}{bundle.model}/"
    outcome = Outcome(bundle.model, store.url(f"{base}{bundle.digest}/{MODEL_JSON}"))
    for item in bundle.files:
        key = f"{base}{bundle.digest}/{item.name}"
        if already_there(store, key, item):
            outcome.skipped.append(key)
            log(f"  = {store.url(key)} (already there)")
            continue
        store.put(key, item.read(), item.content_type, IMMUTABLE)
        _uploaded(outcome, store, key, item.size, log)
    pointer = bundle.pointer()
    key = f"{base}{POINTER}"
    if store.read(key) == pointer:
        outcome.skipped.append(key)
        log(f"  = {store.url(key)} (unchanged)")
    else:
        store.put(key, pointer, "application/json", NO_CACHE)
        _uploaded(outcome, store, key, len(pointer), log)
    return outcome


def _uploaded(outcome: Outcome, store: ObjectStore, key: str, size: int, log: Log) -> None:
    outcome.uploaded.append(key)
    outcome.uploaded_bytes += size
    log(f"  + {store.url(key)} ({size} bytes)")


def already_there(store: ObjectStore, key: str, item: PublishFile) -> bool:
    """Whether immutable ``key`` holds ``item``; PublishError when it holds other bytes (never overwritten)."""
    stored = store.stat(key)
    if stored is None:
        return False
    if stored.size == item.size and stored.md5 in (None, hashlib.md5(item.read(), usedforsecurity=False).hexdigest()):
        return True
    data = store.read(key)  # the store cannot tell, or says it differs: compare the bytes themselves
    if data is None:
        return False
    if hashlib.sha256(data).hexdigest() == item.sha256:
        return True
    raise PublishError(
        f"{store.where}: {store.url(key)} already exists with other bytes than the build's {item.name} ({len(data)} bytes, "
        f"sha256 {hashlib.sha256(data).hexdigest()[:12]}..., not {item.size} bytes, {item.sha256[:12]}...); "
        "an object under a digest path is immutable and never overwritten: find out what wrote it, "
        "delete it from the store, then publish again"
    )
