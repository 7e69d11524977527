"""A stand-in ``tensorflow`` package (or any other) that proves a code path never imports it.

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
    return poison_module(folder, "tensorflow")


def poison_module(folder: Path, name: str) -> PoisonedTensorflow:
    package = folder / "poison" / name
    package.mkdir(parents=True)
    mark = folder / f"{name}-was-imported"
    (package / "__init__.py").write_text(
        f"open({str(mark)!r}, 'w').close()\nraise RuntimeError('{name} was imported')\n", encoding="utf-8"
    )
    return PoisonedTensorflow(package.parent, mark)
