"""Fixtures of the publish tests: a hand-made built project and a real nginx origin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from built_project import Project
from nginx_origin import Origin, running_nginx


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "proj"
    root.mkdir()
    return Project(root)


@pytest.fixture(scope="session")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Origin]:
    try:
        with running_nginx(tmp_path_factory.mktemp("nginx")) as origin:
            yield origin
    except RuntimeError as exc:
        pytest.fail(str(exc))
