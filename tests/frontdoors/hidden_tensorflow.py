"""Make a subprocess see no ``tensorflow`` at all, as in a core-only install (``pip install tfjs-build``).

The poisoned package of tests/no_tensorflow.py proves a path never *imports* TensorFlow;
this proves how tfjs-build behaves when TensorFlow is *not installed*: ``find_spec`` finds
nothing and ``import tensorflow`` raises ModuleNotFoundError. It is a ``sitecustomize``
module first on PYTHONPATH that wraps the path finder, so spawned build workers inherit it.
(The wheel test, tests/frontdoors/test_wheel.py, checks the same in a real core-only venv.)
"""

from __future__ import annotations

from pathlib import Path

SITECUSTOMIZE = '''\
import sys
from importlib.machinery import PathFinder

HIDDEN = {"tensorflow", "tf_keras", "keras"}


class HideTensorflow(PathFinder):
    """The path finder, minus TensorFlow and the Keras packages that need it."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            return None
        return super().find_spec(name, path, target)


sys.meta_path[:] = [HideTensorflow if finder is PathFinder else finder for finder in sys.meta_path]
'''


def hide_tensorflow(folder: Path) -> Path:
    """A folder to put first on PYTHONPATH; returns it."""
    site = folder / "hide-tensorflow"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    return site
