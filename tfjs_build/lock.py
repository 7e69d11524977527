"""tfjs.lock: the committed, machine-written record of every built model.

Versioned schema, deterministic bytes (sorted keys, two-space indent, trailing
newline), written atomically (temp file + os.replace), and only rewritten when its
content really changes. Checks, diffs and reports read sizes from here, so they never
need to rebuild or import tensorflow.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tfjs_build.atomic import atomic_write_text
from tfjs_build.errors import TfjsBuildError

LOCK_NAME = "tfjs.lock"
LOCK_VERSION = 1


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
    def from_json(cls, data: dict[str, Any]) -> "LockEntry":
        data = dict(data)
        data["files"] = tuple(OutputFile(**f) for f in data["files"])
        data["ops"] = tuple(data["ops"])
        data["weights"] = tuple(tuple(w) for w in data.get("weights", ()))
        data["rewrites"] = tuple(data.get("rewrites", ()))
        return cls(**data)


@dataclass(frozen=True)
class Lock:
    models: dict[str, LockEntry]


def parse_lock(text: str, where: str) -> Lock:
    """Parse lock text (from disk or from a git ref). ``where`` names it in errors."""
    try:
        data = json.loads(text)
        if data.get("version") != LOCK_VERSION:
            raise TfjsBuildError(
                f"{where}: lock version {data.get('version')!r} is not {LOCK_VERSION}; "
                "delete it and run `tfjs-build build` to recreate it"
            )
        return Lock({name: LockEntry.from_json(entry) for name, entry in data["models"].items()})
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TfjsBuildError(
            f"{where}: not a valid tfjs.lock ({exc}); restore it from git or delete it and rebuild"
        ) from None


def read_lock(path: Path) -> Lock:
    """The lock at ``path``, or an empty one when the file does not exist yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Lock({})
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
