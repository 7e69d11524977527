"""A cache of what read_yaml made of a tfjs.yaml, keyed by the file's bytes, so a no-op run skips YAML.

Reading tfjs.yaml with positions costs importing PyYAML and walking its events: about half
of a no-op build. The result is a pure function of the text, so it is kept as JSON in
``.tfjs-build/`` under the text's sha256 (JSON: a corrupt or hostile entry can only be
rejected, never run). The cached data still goes through the same validation as freshly
read data. Only plain JSON values are cached (a YAML date, or a NaN, is read each time),
and nothing is written unless ``.tfjs-build/`` exists: creating it is a build's job.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tfjs_build.project import ProjectPaths

FORMAT = 1  # bump when read_yaml's output or this file's layout changes
MAX_ENTRIES = 4  # a few config files (tfjs.yaml, tfjs.ci.yaml, ...) of one project, or a switch of branches

Marks = dict[str, tuple[int, int]]


def text_key(text: str) -> str:
    return hashlib.sha256(f"{FORMAT}\0{text}".encode()).hexdigest()


def lookup(project: Path, key: str) -> tuple[Any, Marks, Marks] | None:
    """The cached (data, value marks, key marks) of text ``key``, or None on a miss or a malformed entry."""
    entry = _entries(ProjectPaths(project).parse_cache).get(key)
    if entry is None:
        return None
    try:
        return entry["data"], _marks(entry["values"]), _marks(entry["keys"])
    except (ValueError, TypeError, KeyError, AttributeError):  # not what store() wrote
        return None


def store(project: Path, key: str, data: Any, values: Marks, keys: Marks) -> None:
    """Remember a successful read; skipped where the data is not plain JSON or .tfjs-build/ does not exist."""
    paths = ProjectPaths(project)
    if not paths.state_dir.is_dir():
        return
    try:
        if json.loads(json.dumps(data, allow_nan=False)) != data:
            return
    except (ValueError, TypeError, RecursionError):  # a date, a NaN
        return
    entries = _entries(paths.parse_cache)
    entries.pop(key, None)
    entries[key] = {"data": data, "values": values, "keys": keys}
    kept = dict(list(entries.items())[-MAX_ENTRIES:])
    from tfjs_build.util.atomic import atomic_write_text

    try:
        atomic_write_text(paths.parse_cache, json.dumps(kept, separators=(",", ":")))
    except OSError:  # a read-only checkout: reading tfjs.yaml again next time is the only cost
        pass


def _entries(path: Path) -> dict[str, Any]:
    try:
        entries = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):  # missing, unreadable, corrupt or absurdly nested: start afresh
        return {}
    return entries if isinstance(entries, dict) else {}


def _marks(raw: dict[str, list[int]]) -> Marks:
    return {path: (int(line), int(col)) for path, (line, col) in raw.items()}
