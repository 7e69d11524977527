"""Step ``locate`` of the Action (build only): the local build cache to keep across runs, and its keys.

Runs with the Python tfjs-build is installed in. The folder is the project's ``cache.dir``
(default .tfjs-build/cache); the key is the OS, the tfjs-build version and the sha256 of
tfjs.lock, so a run on an unchanged lock restores exactly its cache and any other run
restores the newest cache of the same OS and version (restore-keys), from which unchanged
models come back instead of being converted again. A config that does not load sets no
outputs: the cache is skipped and the build step reports the error.
"""

from __future__ import annotations

import hashlib
import os
import platform
from pathlib import Path

from workflow import set_output


def main() -> int:
    from tfjs_build import __version__
    from tfjs_build.config import find_config, load_config
    from tfjs_build.errors import TfjsBuildError

    env = os.environ
    directory = Path(env.get("TFJS_BUILD_DIRECTORY", ".").strip() or ".").resolve()
    try:
        config = load_config(find_config(directory, Path(c) if (c := env.get("TFJS_BUILD_CONFIG", "").strip()) else None))
    except TfjsBuildError as exc:
        print(f"tfjs-build: not caching the build cache: {exc}")
        return 0
    lock = config.lock_path.read_bytes() if config.lock_path.is_file() else b""
    prefix = f"tfjs-build-cache-{env.get('RUNNER_OS', platform.system())}-{__version__}-"
    set_output("dir", str(config.cache.dir))
    set_output("key", prefix + hashlib.sha256(lock).hexdigest()[:16])
    set_output("restore-key", prefix)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
