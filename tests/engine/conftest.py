"""Engine fixtures: a fresh two-model project per test, and a log of the stand-in's conversions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from projects import pair_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return pair_project(tmp_path / "project")


@pytest.fixture
def conversions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """Call it to get the models converted so far, in order (the stand-in logs each conversion)."""
    log = tmp_path / "conversions.log"
    log.touch()
    monkeypatch.setenv("STAND_IN_LOG", str(log))
    return lambda: log.read_text(encoding="utf-8").split()
