"""tfjs.lock: the committed, machine-written record of every built model.

Versioned schema, deterministic bytes (sorted keys, two-space indent, trailing
newline), written atomically (temp file + os.replace), and only rewritten when its
content really changes. Checks, diffs and reports read sizes from here, so they never
need to rebuild or import tensorflow.
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

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
    weights: tuple[tuple[str, str, int], ...] = ()  # (name, stored dtype, bytes), manifest order
    quantization: dict[str, dict[str, int]] = field(default_factory=dict)  # dtype -> {before, after}
    accuracy: dict[str, Any] | None = None  # AccuracyFigures as a dict
    rewrites: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = [asdict(f) for f in self.files]
        data["ops"] = list(self.ops)
        data["weights"] = [list(w) for w in self.weights]
        data["rewrites"] = list(self.rewrites)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LockEntry:
        """Raises ValueError naming the key when ``data`` is not an entry this version wrote."""
        _check_shape(data)
        data = dict(data)
        data["files"] = tuple(OutputFile(**f) for f in data["files"])
        data["ops"] = tuple(data["ops"])
        data["weights"] = tuple(tuple(w) for w in data.get("weights", ()))
        data["rewrites"] = tuple(data.get("rewrites", ()))
        return cls(**data)


# The JSON type of every entry key, so a hand-edited or garbled lock is refused by key
# instead of failing later inside a check with a TypeError.
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "fingerprint": (str,), "converter": (str,), "inputs": (dict,), "settings": (dict,), "files": (list,),
    "size": (int,), "transfer": (int,), "transfer_brotli": (int, type(None)), "shards": (int,),
    "params": (int,), "ops": (list,), "weights": (list,), "quantization": (dict,),
    "accuracy": (dict, type(None)), "rewrites": (list,),
}
_FILE_TYPES: dict[str, type] = {"path": str, "size": int, "sha256": str}
_JSON_WORDS: dict[type, str] = {
    str: "a string", int: "an integer", float: "a number", bool: "a boolean", dict: "an object", list: "a list",
    type(None): "null",
}


def _check_shape(data: Any) -> None:
    if not isinstance(data, dict):
        raise ValueError(f"expected an object, got {type(data).__name__}")
    required = {f.name for f in fields(LockEntry) if f.default is MISSING and f.default_factory is MISSING}
    if missing := sorted(required - data.keys()):
        raise ValueError(f"missing key {missing[0]!r}")
    if unknown := sorted(data.keys() - _JSON_TYPES.keys()):
        raise ValueError(f"unknown key {unknown[0]!r} (written by a newer tfjs-build?)")
    for key, value in data.items():
        if not isinstance(value, _JSON_TYPES[key]) or isinstance(value, bool):
            expected = " or ".join(_JSON_WORDS[t] for t in _JSON_TYPES[key])
            raise ValueError(f"{key!r} must be {expected}, got {_JSON_WORDS.get(type(value), type(value).__name__)}")
    for i, item in enumerate(data["files"]):
        if not isinstance(item, dict) or item.keys() != _FILE_TYPES.keys() or any(
            not isinstance(item[k], t) or isinstance(item[k], bool) for k, t in _FILE_TYPES.items()
        ):
            raise ValueError(f"files[{i}] is not {{path: string, size: integer, sha256: string}}")
    _check_files(data["files"])


def _check_files(files: list[dict[str, Any]]) -> None:
    """Each output file must be one a model folder may hold, once, with a real digest: entries are untrusted."""
    seen: set[str] = set()
    for i, item in enumerate(files):
        path = item["path"]
        if problem := output_file_problem(path):
            raise ValueError(f"files[{i}].path {path!r} {problem}")
        if path in seen:
            raise ValueError(f"files[{i}].path {path!r} is listed twice")
        seen.add(path)
        if item["size"] < 0:
            raise ValueError(f"files[{i}].size is negative ({item['size']})")
        if not _SHA256.fullmatch(item["sha256"]):
            raise ValueError(f"files[{i}].sha256 {item['sha256'][:80]!r} is not 64 lowercase hex digits")
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
