"""What gets published for one model: the built files that tfjs.lock vouches for, in upload order.

Publishing never rebuilds and never trusts the output folder alone: every file is checked
against its sha256 in tfjs.lock, so what lands on a CDN is byte for byte what was built,
checked and committed. The model's digest (a hash of its files' hashes) names the
immutable version (its model.json on a store, its release on GitHub), which is what makes
re-publishing a no-op.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from tfjs_build.config import Config, ModelConfig
from tfjs_build.engine.lockfile import LOCK_NAME, LockEntry
from tfjs_build.errors import TfjsBuildError
from tfjs_build.hints import display_path

MODEL_JSON = "model.json"
DIGEST_CHARS = 16  # 64 bits: plenty to tell one model's versions apart, short enough for URLs
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
_CONTENT_TYPES = {".json": "application/json", ".bin": "application/octet-stream"}


@dataclass(frozen=True)
class PublishFile:
    """One built file: ``name`` is its path inside the model folder ("/"-separated)."""

    name: str
    path: Path
    size: int
    sha256: str

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES.get(Path(self.name).suffix, "application/octet-stream")

    def read(self) -> bytes:
        return self.path.read_bytes()


@dataclass(frozen=True)
class Bundle:
    """A model ready to publish: ``files`` are its shards in manifest order (as TF.js fetches them), model.json last."""

    model: str
    digest: str
    files: tuple[PublishFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def model_digest(entry: LockEntry) -> str:
    """A hash of the output files' names and hashes: changes exactly when the output does."""
    lines = "".join(f"{f.path}\0{f.sha256}\n" for f in sorted(entry.files, key=lambda f: f.path))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()[:DIGEST_CHARS]


def collect_bundle(config: Config, model: ModelConfig, entry: LockEntry | None) -> Bundle:
    """Check the built files of ``model`` against tfjs.lock and return them in upload order."""
    if entry is None:
        raise TfjsBuildError(
            f"{model.where()}: not in {LOCK_NAME}, so there is nothing built to publish; "
            f"run `tfjs-build build {model.name}` first"
        )
    folder = config.model_output_dir(model.name)
    files = [_checked_file(model, folder, item.path, item.size, item.sha256) for item in entry.files]
    if not any(f.name == MODEL_JSON for f in files):
        raise TfjsBuildError(f"{model.where()}: {LOCK_NAME} lists no {MODEL_JSON}; run `tfjs-build build {model.name}`")
    model_json = next(f for f in files if f.name == MODEL_JSON)
    order = {path: i for i, path in enumerate(manifest_paths(model_json.read()))}
    shards = sorted((f for f in files if f.name != MODEL_JSON), key=lambda f: order.get(f.name, len(order)))
    return Bundle(model=model.name, digest=model_digest(entry), files=(*shards, model_json))


def manifest_paths(model_json: bytes) -> list[str]:
    """Shard paths in the order TF.js fetches them (weightsManifest order); [] when model.json says nothing usable."""
    try:
        manifest = json.loads(model_json).get("weightsManifest")
        return [path for group in manifest for path in group["paths"] if isinstance(path, str)]
    except (ValueError, RecursionError, AttributeError, TypeError, KeyError):
        return []


def _checked_file(model: ModelConfig, folder: Path, name: str, size: int, sha256: str) -> PublishFile:
    path = folder / name
    fix = f"run `tfjs-build build {model.name}` to rebuild it"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TfjsBuildError(f"{display_path(path)}: missing, but {LOCK_NAME} lists it for {model.name}; {fix}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise TfjsBuildError(
            f"{display_path(path)}: does not match {LOCK_NAME} (its sha256 changed since the build "
            f"of {model.name}); {fix}"
        )
    return PublishFile(name=name, path=path, size=size, sha256=sha256)
