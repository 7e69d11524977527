from __future__ import annotations

from pathlib import Path

import pytest
from config_project import make_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (see config_project.make_project) that is also the working directory."""
    monkeypatch.chdir(tmp_path)
    return make_project(tmp_path)
