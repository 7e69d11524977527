"""Which versions of a model a store holds, oldest first: the index publish keeps, or what came before it.

``MODEL/versions.json`` is written by every publish since shared shards (layout.py). A model
published only by earlier releases has none; its history is then what those left: the
``latest.json`` they wrote names the current version, and a store that can list (S3) shows
every older ``MODEL/DIGEST/model.json`` folder, ordered by when its model.json was written.
A plain HTTP origin cannot list, so there only the version latest.json names is found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tfjs_build.publish.layout import INDEX, POINTER, FileRef, Version, parse_index, parse_pointer

if TYPE_CHECKING:
    from tfjs_build.publish.base import ObjectStore

_LEGACY_KEY = re.compile(r"^([0-9a-f]{16})/([A-Za-z0-9][A-Za-z0-9._-]*)$")


@dataclass(frozen=True)
class Listed:
    """One object a store listed: its key, size and when it was written (seconds since the epoch)."""

    key: str
    size: int
    modified: float


@dataclass(frozen=True)
class History:
    versions: list[Version]  # oldest first
    raw: bytes | None  # versions.json as stored, None when there is none


def read_history(store: ObjectStore, base: str) -> History:
    """The versions under ``base`` (``PREFIX/MODEL/``)."""
    raw = store.read(base + INDEX)
    if raw is not None:
        return History(parse_index(raw, store.url(base + INDEX)), raw)
    versions = legacy_versions(store.list_keys(base) or [], base)
    current = current_version(store, base)
    if current is not None:  # the current one is the newest, whatever the listing's clock says
        versions = [v for v in versions if v.digest != current.digest] + [current]
    return History(versions, None)


def current_version(store: ObjectStore, base: str) -> Version | None:
    """The version ``latest.json`` names, or None when there is no pointer."""
    raw = store.read(base + POINTER)
    return None if raw is None else parse_pointer(raw, store.url(base + POINTER))


def legacy_versions(listed: list[Listed], base: str) -> list[Version]:
    """Digest-layout versions (``DIGEST/model.json`` + files) in a listing, by when model.json was written."""
    folders: dict[str, list[Listed]] = {}
    for item in listed:
        match = _LEGACY_KEY.match(item.key.removeprefix(base))
        if item.key.startswith(base) and match:
            folders.setdefault(match.group(1), []).append(item)
    versions = []
    for digest, items in folders.items():
        model_json = next((i for i in items if i.key.endswith("/model.json")), None)
        if model_json is None:  # an interrupted upload of the old layout: never a version
            continue
        files = tuple(FileRef(i.key.removeprefix(base), i.size) for i in items)
        versions.append((model_json.modified, digest, Version(digest, f"{digest}/model.json", files)))
    return [version for _, _, version in sorted(versions, key=lambda v: (v[0], v[1]))]
