"""tfjs.lock: the committed, machine-written record of every built model.

Versioned schema, deterministic bytes (sorted keys, two-space indent, trailing
newline), written atomically (temp file + os.replace), and only rewritten when its
content really changes. Checks, diffs and reports read sizes from here, so they never
need to rebuild or import tensorflow.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from tfjs_build.convert.result import AccuracyFigures, DtypeBytes
from tfjs_build.engine.lock_codec import from_data, to_data, too_deep
from tfjs_build.errors import TfjsBuildError
from tfjs_build.project import LOCK_NAME as LOCK_NAME  # re-exported: publish and tests name the lock through here
from tfjs_build.util.atomic import atomic_write_text

LOCK_VERSION = 1
MODEL_JSON = "model.json"
# Weight shards: group{G}-shard{i}of{N}.bin today, content-hashed names (w-<hex>.bin) later. Top level only, no
# leading dot (the builder's hidden temp names) or dash, and short enough for any file system.
_SHARD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,250}\.bin")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def output_file_problem(path: str) -> str | None:
    """Why ``path`` cannot name a file of a model output folder, or None when it can.

    The one naming rule for everything tfjs-build writes into (or replaces in) a model
    folder: tfjs.lock and cache entries are untrusted, and a path such as ``../x`` in them
    would otherwise be written outside the project.
    """
    if path == MODEL_JSON or _SHARD_NAME.fullmatch(path):
        return None
    if "\0" in path or "\\" in path:
        return "holds a NUL byte or a backslash"
    if path.startswith("/"):
        return "is absolute"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return "is not a normalised relative path (an empty, '.' or '..' component)"
    if "/" in path:
        return "is in a subfolder (a model folder holds only model.json and weight shards)"
    return "is neither model.json nor a weight shard name ([A-Za-z0-9][A-Za-z0-9._-]*.bin, at most 255 characters)"


@dataclass(frozen=True)
class OutputFile:
    path: str  # relative to the model's output folder, "/"-separated
    size: int
    sha256: str


class LockedWeight(NamedTuple):
    """One weight as the lock records it (a JSON list: a model has many), in manifest order."""

    name: str
    dtype: str  # stored dtype
    nbytes: int


@dataclass(frozen=True)
class LockEntry:
    fingerprint: str
    converter: str  # CONVERTER_VERSION that built it
    inputs: dict[str, str]  # input role ("source/variables/variables.index", "metadata/labels") -> sha256
    settings: dict[str, Any]  # ModelConfig.output_settings() at build time
    files: tuple[OutputFile, ...]
    size: int  # bytes of model.json + shards
    transfer: int  # gzip -9 bytes of model.json + shards
    transfer_brotli: int | None
    shards: int
    params: int
    ops: tuple[str, ...]
    weights: tuple[LockedWeight, ...] = ()
    quantization: dict[str, DtypeBytes] = field(default_factory=dict)  # by source dtype
    accuracy: AccuracyFigures | None = None
    rewrites: tuple[str, ...] = ()
    # Expected build milliseconds from a formula of its inputs' bytes and its weight tensors (shards.estimated_cost):
    # a fan-out balances shards on it; not measured seconds, so that the lock is byte-identical on every machine.
    cost: int | None = None
    # Per backend, TF.js's outputs against TensorFlow's when the build verified it (tfjs.yaml's verify).
    verified: dict[str, AccuracyFigures] | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = to_data(self)
        if self.verified is None:
            del data["verified"]  # absent, not null: locks built without verify stay byte for byte as they were
        return data

    @classmethod
    def from_json(cls, data: Any) -> LockEntry:
        """Raises ValueError naming the key when ``data`` is not an entry this version wrote."""
        entry = from_data(cls, data)
        _check_files(entry.files)
        return entry


def _check_files(files: tuple[OutputFile, ...]) -> None:
    """Each output file must be one a model folder may hold, once, with a real digest: entries are untrusted."""
    seen: set[str] = set()
    for i, item in enumerate(files):
        if problem := output_file_problem(item.path):
            raise ValueError(f"files[{i}].path {item.path!r} {problem}")
        if item.path in seen:
            raise ValueError(f"files[{i}].path {item.path!r} is listed twice")
        seen.add(item.path)
        if not _SHA256.fullmatch(item.sha256):
            raise ValueError(f"files[{i}].sha256 {item.sha256[:80]!r} is not 64 lowercase hex digits")
    if MODEL_JSON not in seen:
        raise ValueError(f"files: no {MODEL_JSON} listed")


@dataclass(frozen=True)
class Lock:
    models: dict[str, LockEntry]


REPAIR_LOCK = "restore it from git (git checkout -- tfjs.lock) or delete it and run `tfjs-build build`"


def parse_lock(text: str, where: str, fix: str = REPAIR_LOCK) -> Lock:
    """Parse lock text (from disk or from a git ref). ``where`` names it in errors, ``fix`` says what to do."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise TfjsBuildError(f"{where}: not a valid tfjs.lock ({exc}); {fix}") from None
    except RecursionError:
        raise TfjsBuildError(_too_deep_message(text, where, fix)) from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise TfjsBuildError(f"{where}: not a valid tfjs.lock (expected an object with version and models); {fix}")
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > LOCK_VERSION:
        raise TfjsBuildError(
            f"{where}: lock version {version} was written by a newer tfjs-build (this one reads version "
            f"{LOCK_VERSION}); upgrade tfjs-build (pip install -U tfjs-build) rather than deleting the lock"
        )
    if version != LOCK_VERSION:
        raise TfjsBuildError(f"{where}: lock version {version!r} is not {LOCK_VERSION}; {fix}")
    models = {}
    for name, entry in data["models"].items():
        try:
            models[name] = LockEntry.from_json(entry)
        except ValueError as exc:
            raise TfjsBuildError(f"{where}: models.{name}: not a valid lock entry ({exc}); {fix}") from None
    return Lock(models)


def _too_deep_message(text: str, where: str, fix: str) -> str:
    path = too_deep(text)
    if len(path) >= 3 and path[0] == "models":
        return f"{where}: models.{path[1]}: not a valid lock entry ({path[2]!r} nests too deeply); {fix}"
    return f"{where}: not a valid tfjs.lock (it nests too deeply{' at ' + '.'.join(path[:3]) if path else ''}); {fix}"


def read_lock(path: Path) -> Lock:
    """The lock at ``path``, or an empty one when the file does not exist yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Lock({})
    except (OSError, UnicodeDecodeError) as exc:
        raise TfjsBuildError(
            f"{path}: cannot read tfjs.lock ({exc}); it must be the UTF-8 JSON file tfjs-build writes: "
            + REPAIR_LOCK
        ) from None
    return parse_lock(text, str(path))


def render_lock(lock: Lock) -> str:
    data = {"version": LOCK_VERSION, "models": {n: e.to_json() for n, e in sorted(lock.models.items())}}
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_lock(path: Path, lock: Lock) -> bool:
    """Write atomically; return False (and touch nothing) when the content is unchanged."""
    text = render_lock(lock)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    atomic_write_text(path, text)
    return True
