"""Fixtures of the publish tests: a hand-made built project (see built_project.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from built_project import Project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "proj"
    root.mkdir()
    return Project(root)
