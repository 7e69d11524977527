"""Is the converter's optional dependency (the ``tensorflow`` extra) installed? Asked without importing it.

``pip install tfjs-build`` is the light core (status, plan, check, diff, publish, cache, and a
build that restores every stale model from a cache); only converting and ``verify`` need
``pip install 'tfjs-build[tensorflow]'``. Asking before any work starts turns a missing extra
into one user error with the install command, instead of a traceback in every worker.
"""

from __future__ import annotations

import importlib.util

from tfjs_build.errors import TfjsBuildError

INSTALL_HINT = "pip install 'tfjs-build[tensorflow]'"


class TensorflowMissing(TfjsBuildError):
    """A command has to run TensorFlow, and the ``tensorflow`` extra is not installed."""


def tensorflow_installed() -> bool:
    return importlib.util.find_spec("tensorflow") is not None


def require_tensorflow(what: str) -> None:
    """Raise TensorflowMissing (exit 2) saying ``what`` needs TensorFlow, unless it is importable."""
    if not tensorflow_installed():
        raise TensorflowMissing(f"{what} needs TensorFlow, which is not installed here; install the converter "
                                f"with `{INSTALL_HINT}` (the core package only checks, plans, publishes and "
                                "restores models from the cache)")
