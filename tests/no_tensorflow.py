"""A stand-in ``tensorflow`` package that proves a code path never imports TensorFlow.

Put ``pythonpath`` first on a subprocess's PYTHONPATH: any ``import tensorflow`` then
leaves ``mark`` behind and raises, so the path under test fails loudly, and the mark
catches even an import whose error something swallowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple


class PoisonedTensorflow(NamedTuple):
    pythonpath: Path
    mark: Path

    @property
    def imported(self) -> bool:
        return self.mark.exists()


def poison_tensorflow(folder: Path) -> PoisonedTensorflow:
    package = folder / "poison" / "tensorflow"
    package.mkdir(parents=True)
    mark = folder / "tensorflow-was-imported"
    (package / "__init__.py").write_text(
        f"open({str(mark)!r}, 'w').close()\nraise RuntimeError('tensorflow was imported')\n", encoding="utf-8"
    )
    return PoisonedTensorflow(package.parent, mark)
