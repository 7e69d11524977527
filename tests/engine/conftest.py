"""Engine fixtures: a fresh two-model project per test, and a log of the stand-in's conversions."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from engine_project import DATA_FILE, age, write_config


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name, size in (("alpha", 200_000), ("beta", 50_000)):
        folder = root / "models" / name
        (folder / "variables").mkdir(parents=True)
        (folder / "saved_model.pb").write_bytes(name.encode() * 100)
        (folder / "variables" / "variables.index").write_bytes(b"index-" + name.encode())
        (folder / DATA_FILE).write_bytes(os.urandom(size))
    write_config(root)
    age(root)
    return root


@pytest.fixture
def conversions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """Call it to get the models converted so far, in order (the stand-in logs each conversion)."""
    log = tmp_path / "conversions.log"
    log.touch()
    monkeypatch.setenv("STAND_IN_LOG", str(log))
    return lambda: log.read_text(encoding="utf-8").split()
