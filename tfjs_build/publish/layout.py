"""Where a model's versions live in an object store, and the two small JSON objects that describe them.

Shared layout (content-named shards, ``w-<16 hex>.bin``: every build since shards were named by
content)::

    MODEL/w-<16 hex>.bin          immutable, shared by every version that holds those bytes
    MODEL/model-<DIGEST>.json     immutable: one version's model.json, byte for byte as built
    MODEL/versions.json           mutable (no-cache): every published version, oldest first
    MODEL/latest.json             mutable (no-cache): the current version

The version's model.json sits beside its shards, so TF.js (which fetches each manifest path
relative to the folder of the model.json URL) finds them with the paths the build wrote: no
``../``, no rewritten model.json. Digest layout (what earlier releases wrote, and what a build
whose shards are not content-named still gets): ``MODEL/DIGEST/model.json`` + shards.

In ``latest.json`` and ``versions.json`` a version is ``{"digest", "model_json", "files":
[{"name", "size", "sha256"}]}``: ``model_json`` is relative to ``MODEL/`` and each file name is
relative to the folder of ``model_json``. That one rule reads both layouts, and pointers
written by earlier releases, which had exactly these keys.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from typing import Any

from tfjs_build.publish.bundle import MODEL_JSON, Bundle, PublishFile
from tfjs_build.publish.transport import PublishError
from tfjs_build.tfjs_format.shards import shard_name

POINTER = "latest.json"
INDEX = "versions.json"
_DIGEST = re.compile(r"^[0-9a-f]{16}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class FileRef:
    """One object of a version: ``key`` relative to ``MODEL/``."""

    key: str
    size: int
    sha256: str | None = None


@dataclass(frozen=True)
class Version:
    digest: str
    model_json: str  # relative to MODEL/
    files: tuple[FileRef, ...]  # model_json among them

    @property
    def keys(self) -> set[str]:
        return {f.key for f in self.files}

    def to_json(self) -> dict[str, Any]:
        folder = posixpath.dirname(self.model_json)
        files = [{"name": posixpath.relpath(f.key, folder) if folder else f.key, "size": f.size}
                 | ({"sha256": f.sha256} if f.sha256 else {}) for f in self.files]
        return {"digest": self.digest, "model_json": self.model_json, "files": files}


def shares_shards(bundle: Bundle) -> bool:
    """Whether every shard is named by its content, so versions can share one folder."""
    return all(f.name == shard_name(f.sha256) for f in bundle.files if f.name != MODEL_JSON)


def upload_plan(bundle: Bundle) -> tuple[Version, list[tuple[str, PublishFile]]]:
    """The version ``bundle`` becomes, and (key relative to MODEL/, file) in upload order: shards, then model.json."""
    if shares_shards(bundle):
        def key(item: PublishFile) -> str:
            return f"model-{bundle.digest}.json" if item.name == MODEL_JSON else item.name
    else:
        def key(item: PublishFile) -> str:
            return f"{bundle.digest}/{item.name}"
    uploads = [(key(item), item) for item in bundle.files]
    files = tuple(FileRef(k, item.size, item.sha256) for k, item in uploads)
    return Version(bundle.digest, key(bundle.files[-1]), files), uploads


def encode(data: dict[str, Any]) -> bytes:
    """Deterministic bytes: the same content is the same object, so an unchanged pointer is not rewritten."""
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


def pointer_bytes(model: str, version: Version) -> bytes:
    return encode({"model": model, **version.to_json()})


def index_bytes(model: str, versions: list[Version]) -> bytes:
    return encode({"model": model, "versions": [v.to_json() for v in versions]})


def parse_pointer(data: bytes, where: str) -> Version:
    """The version a ``latest.json`` names (this release's or an earlier one's); PublishError when garbled."""
    return _version(_json_object(data, where), where)


def parse_index(data: bytes, where: str) -> list[Version]:
    versions = _json_object(data, where).get("versions")
    if not isinstance(versions, list):
        raise PublishError(f"{where}: not a versions index (no `versions` list); {_FIX}")
    return [_version(item, f"{where}: versions[{i}]") for i, item in enumerate(versions)]


_FIX = "it was not written by tfjs-build: restore it, or delete it and publish again"


def _json_object(data: bytes, where: str) -> dict[str, Any]:
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, dict):
        raise PublishError(f"{where}: not a JSON object; {_FIX}")
    return parsed


def _version(item: Any, where: str) -> Version:
    """A version record, with every name checked: keys read from a store must not escape ``MODEL/``."""
    try:
        digest, model_json = item["digest"], item["model_json"]
        folder = posixpath.dirname(model_json)
        files = tuple(_file_ref(folder, f) for f in item["files"])
        ok = isinstance(digest, str) and _DIGEST.match(digest) and _safe_key(model_json)
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok or model_json not in {f.key for f in files}:
        raise PublishError(f"{where}: not a version record {{digest, model_json, files}} with safe names; {_FIX}")
    return Version(digest, model_json, files)


def _file_ref(folder: str, item: dict[str, Any]) -> FileRef:
    name, size, sha256 = item["name"], item["size"], item.get("sha256")
    if not (isinstance(name, str) and _NAME.match(name) and isinstance(size, int) and size >= 0):
        raise ValueError(name)
    if sha256 is not None and not (isinstance(sha256, str) and re.fullmatch(r"[0-9a-f]{64}", sha256)):
        raise ValueError(sha256)
    return FileRef(f"{folder}/{name}" if folder else name, size, sha256)


def _safe_key(key: Any) -> bool:
    """``NAME`` or ``DIGEST/NAME``: the only keys either layout writes."""
    if not isinstance(key, str):
        return False
    folder, name = posixpath.split(key)
    return bool(_NAME.match(name)) and (not folder or bool(_DIGEST.match(folder)))
