"""A build (stand-in converter) that SIGKILLs itself at one named point of the build's order of effects.

``python kill_at_point.py TFJS_YAML POINT N``: POINT is one of ``POINTS``; the process kills itself (-9, no
cleanup, as the kernel's OOM killer or a cancelled runner would) the Nth time it reaches that point.
Deterministic, unlike a kill after a random delay: every point of engine/build.py's order is hit on purpose.
"""

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))  # the stand-in converter's folder

import stand_in_converter  # noqa: E402

from tfjs_build.config import load_config  # noqa: E402
from tfjs_build.engine import build as builder  # noqa: E402
from tfjs_build.engine.local_cache import LocalCache  # noqa: E402
from tfjs_build.terminal import Console  # noqa: E402

# (module or class, attribute): the effects of a build, in the order engine/build.py's docstring gives.
EFFECTS: dict[str, tuple[Any, str]] = {
    "cache-blob": (LocalCache, "new_blob"),
    "cache-entry": (LocalCache, "add_entry"),
    "swap-output": (builder, "place"),
    "write-lock": (builder, "write_lock"),
}
POINTS = tuple(f"{when}-{effect}" for effect in EFFECTS for when in ("before", "after"))


def _killing(function: Callable[..., Any], when: str, nth: int) -> Callable[..., Any]:
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if when == "before" and calls == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        result = function(*args, **kwargs)
        if when == "after" and calls == nth:
            if hasattr(result, "__enter__"):  # new_blob: kill once the blob is written, inside the block
                return _kill_on_exit(result)
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    return wrapper


class _kill_on_exit:  # noqa: N801 (a context manager standing in for new_blob's)
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __enter__(self) -> Any:
        return self.inner.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    config_path, point, nth = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    when, effect = point.split("-", 1)
    owner, name = EFFECTS[effect]
    setattr(owner, name, _killing(getattr(owner, name), when, nth))
    summary = builder.build(load_config(config_path), Console(color=False), convert_fn=stand_in_converter.convert)
    sys.exit(summary.exit_code)
