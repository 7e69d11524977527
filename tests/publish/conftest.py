"""Fixtures of the publish tests: a hand-made built project, a real nginx origin, the GitHub API stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from built_project import Project
from github_standin import TOKEN, StandIn
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


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """The GitHub API stand-in; $RELEASE_TOKEN holds the token it accepts."""
    server = StandIn()
    monkeypatch.setenv("RELEASE_TOKEN", TOKEN)
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    yield server
    server.stop()
