"""The protocol every publish target implements, and the shared upload loop of object stores.

A target turns a Bundle into uploads. Object stores (S3, a WebDAV origin) share one
layout (layout.py) and one loop: content-named shards and versioned model.json files are
immutable, so one that is already there with the right size (and the right MD5, where the
store reports one) is skipped; when the store cannot tell (an origin that gzips and so sends
no length) or disagrees, the object is fetched and compared by sha256, and an object holding
other bytes is refused, never overwritten. ``MODEL/versions.json`` (the index prune reads)
and ``MODEL/latest.json`` (the one pointer apps read) are mutable, compared byte for byte.
Shards go first in manifest order, model.json after them, the index, the pointer last, so
a reader never sees a model.json whose shards are missing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from tfjs_build.publish.bundle import IMMUTABLE, NO_CACHE, Bundle, PublishFile
from tfjs_build.publish.history import Listed, read_history
from tfjs_build.publish.layout import INDEX, POINTER, index_bytes, pointer_bytes, upload_plan
from tfjs_build.publish.transport import PublishError

Log = Callable[[str], None]


@dataclass
class Outcome:
    """What one publish of one model did; ``location`` is where its model.json now lives."""

    model: str
    location: str
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    uploaded_bytes: int = 0


@dataclass
class Pruned:
    """What one prune of one model did (or, in a dry run, would do): ``deleted`` keys in deletion order."""

    model: str
    kept: list[str] = field(default_factory=list)  # digests, oldest first
    removed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    freed_bytes: int = 0


@dataclass(frozen=True)
class Planned:
    """One upload a dry run would do (without asking the target what it already has)."""

    destination: str
    size: int | None  # None: depends on what the store holds (the versions index)
    cache_control: str
    model_json: bool = False  # the version's model.json: what an app loads


class Target(Protocol):
    def plan(self, bundle: Bundle) -> list[Planned]:
        """Every upload, in order, without touching the network."""

    def publish(self, bundle: Bundle, log: Log) -> Outcome:
        """Upload what is missing; publishing the same bundle again uploads nothing."""

    def prune(self, model: str, keep: int, dry_run: bool, log: Log) -> Pruned:
        """Remove versions beyond the newest ``keep`` (never the current one) and the objects only they use."""

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

    def delete(self, key: str) -> None:
        """Remove ``key``; a key already gone is fine (an interrupted prune runs again)."""

    def list_keys(self, prefix: str) -> list[Listed] | None:
        """Every object under ``prefix``, or None when the store cannot list (plain HTTP)."""


def plan_store(store: ObjectStore, prefix: str, bundle: Bundle) -> list[Planned]:
    """Every object in upload order, the index (its size depends on the store) and the pointer last."""
    base = f"{prefix}{bundle.model}/"
    version, uploads = upload_plan(bundle)
    planned = [Planned(store.url(base + key), item.size, IMMUTABLE, key == version.model_json) for key, item in uploads]
    planned.append(Planned(store.url(base + INDEX), None, NO_CACHE))
    planned.append(Planned(store.url(base + POINTER), len(pointer_bytes(bundle.model, version)), NO_CACHE))
    return planned


def publish_to_store(store: ObjectStore, prefix: str, bundle: Bundle, log: Log) -> Outcome:
    """Upload the immutable objects that are missing (shards, then model.json), then the index, the pointer last."""
    base = f"{prefix}{bundle.model}/"
    version, uploads = upload_plan(bundle)
    outcome = Outcome(bundle.model, store.url(base + version.model_json))
    for key, item in uploads:
        if already_there(store, base + key, item):
            log(f"  = {store.url(base + key)} (already there)")
            outcome.skipped.append(base + key)
            continue
        store.put(base + key, item.read(), item.content_type, IMMUTABLE)
        log(f"  + {store.url(base + key)} ({item.size} bytes)")
        outcome.uploaded.append(base + key)
        outcome.uploaded_bytes += item.size
    history = read_history(store, base)
    versions = [v for v in history.versions if v.digest != version.digest] + [version]
    mutable = ((INDEX, index_bytes(bundle.model, versions), history.raw),
               (POINTER, pointer_bytes(bundle.model, version), store.read(base + POINTER)))
    for name, data, stored in mutable:
        if put_if_changed(store, base + name, data, stored, log):
            outcome.uploaded.append(base + name)
            outcome.uploaded_bytes += len(data)
        else:
            outcome.skipped.append(base + name)
    return outcome


def put_if_changed(store: ObjectStore, key: str, data: bytes, stored: bytes | None, log: Log) -> bool:
    """Write a mutable object (no-cache) unless it already holds ``data``; whether it was written."""
    if stored == data:
        log(f"  = {store.url(key)} (unchanged)")
        return False
    store.put(key, data, "application/json", NO_CACHE)
    log(f"  + {store.url(key)} ({len(data)} bytes)")
    return True


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
