"""Every file tfjs-build owns in a project, named in one place.

Beside tfjs.yaml: ``tfjs.lock`` (committed) and ``.tfjs-build/`` (never committed: it
holds a ``.gitignore`` of ``*``), which holds the stat cache, the parsed tfjs.yaml, the build mutex, the
work folder of running conversions and, by default, the build cache.

Asking for a path never creates anything: a read-only command (status, check, a no-op
build) must work in a read-only checkout. A command that writes calls
``ensure_state_dir()`` first.
"""

from __future__ import annotations

import errno
import re
from pathlib import Path

LOCK_NAME = "tfjs.lock"
BENCH_NAME = "tfjs.bench.json"  # committed benchmark record (tfjs-build bench)
STATE_DIR_NAME = ".tfjs-build"
DEFAULT_CACHE_DIR = f"{STATE_DIR_NAME}/cache"  # cache.dir's default, relative to the project
_GITIGNORE = "# tfjs-build's local state: stat cache, build lock, cache\n*\n"
# util.atomic.atomic_path writes tfjs.lock through mkstemp(prefix=".tfjs.lock.", suffix=".tmp"): 8 characters of
# mkstemp's alphabet between. Only such names are ever removed as leftovers of a killed write.
_LOCK_TEMP = re.compile(re.escape(f".{LOCK_NAME}.") + r"[a-z0-9_]{8}\.tmp")
# The errors a read-only project gives when tfjs-build tries to create its state there.
READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


class ProjectPaths:
    """The files of the project whose tfjs.yaml lies in ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = root / LOCK_NAME
        self.bench = root / BENCH_NAME
        self.state_dir = root / STATE_DIR_NAME
        self.gitignore = self.state_dir / ".gitignore"
        self.stat_cache = self.state_dir / "stat.sqlite"
        self.parse_cache = self.state_dir / "parsed-config.json"  # tfjs.yaml as read, by its text's sha256
        self.build_mutex = self.state_dir / "build.lock"
        self.work_dir = self.state_dir / "work"  # scratch folders of running conversions, one per model
        self.default_cache_dir = root / DEFAULT_CACHE_DIR

    def ensure_state_dir(self) -> Path:
        """Create .tfjs-build/ with its .gitignore (so it is never committed) unless it is there; raises OSError."""
        if not self.gitignore.exists():
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self.gitignore.write_text(_GITIGNORE, encoding="utf-8")
        return self.state_dir

    def lock_leftovers(self) -> list[Path]:
        """Temp files of tfjs.lock writes killed between the write and the rename (delete them under the mutex)."""
        try:
            return sorted(path for path in self.root.iterdir() if _LOCK_TEMP.fullmatch(path.name))
        except OSError:
            return []
