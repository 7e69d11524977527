"""Fixtures of the front-door tests (GitHub Action, pre-commit, git hooks).

They reuse the publish tests' hand-made built project and GitHub API stand-in.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "publish"))

from built_project import Project  # noqa: E402
from github_standin import StandIn  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "proj"
    root.mkdir()
    return Project(root)


@pytest.fixture
def github() -> Iterator[StandIn]:
    server = StandIn()
    yield server
    server.stop()
