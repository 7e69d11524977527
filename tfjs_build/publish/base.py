"""The protocol every publish target implements, and the shared upload loop of object stores.

A target turns a Bundle into uploads. Object stores (S3, a WebDAV origin) share one
layout and one loop: ``MODEL/DIGEST/FILE`` objects are immutable, so "already there
with the right size" is enough to skip them; ``MODEL/latest.json`` is the one mutable
pointer, compared byte for byte. Shards go first, model.json after them, the pointer
last, so a reader never sees a model.json whose shards are missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from tfjs_build.publish.bundle import IMMUTABLE, MODEL_JSON, NO_CACHE, Bundle

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


class ObjectStore(Protocol):
    def url(self, key: str) -> str:
        """A human-readable address of ``key`` (for messages and outputs)."""

    def size(self, key: str) -> int | None:
        """The stored size of ``key``, or None when it does not exist."""

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
        if store.size(key) == item.size:
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
