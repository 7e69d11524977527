"""The remote cache against a real HTTP server (Debian's nginx with WebDAV PUT, on loopback).

One machine builds and pushes; another restores without converting; a corrupt or
unreachable remote costs a warning and a conversion, never the build.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "publish"))
from nginx_origin import Origin, running_nginx  # noqa: E402  (the publish tests' nginx, reused)
from projects import copy_project, snapshot
from stand_in_runs import run_build


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory):
    with running_nginx(tmp_path_factory.mktemp("nginx")) as origin:
        yield origin


def with_remote(root: Path, url: str) -> Path:
    with open(root / "tfjs.yaml", "a", encoding="utf-8") as config:
        config.write(f"cache:\n  remote: {url}\n")
    return root


def test_another_machine_restores_from_the_remote(project: Path, tmp_path: Path, nginx: Origin, conversions) -> None:
    url = f"{nginx.url}/{tmp_path.name}"
    assert run_build(with_remote(project, url)).built == ["alpha", "beta"]
    pushed = list((nginx.root / tmp_path.name).rglob("*"))
    assert len([p for p in pushed if p.parent.name == "ac"]) == 2
    other = copy_project(project, tmp_path / "other")  # its own, empty local cache
    summary = run_build(other)
    assert summary.restored == ["alpha", "beta"] and not summary.built
    assert sorted(conversions()) == ["alpha", "beta"]  # only the first machine converted
    assert snapshot(other) == snapshot(project)


def test_corrupt_remote_blob_is_refused(project: Path, tmp_path: Path, nginx: Origin, capsys) -> None:
    url = f"{nginx.url}/{tmp_path.name}"
    run_build(with_remote(project, url))
    for blob in (nginx.root / tmp_path.name / "cas").iterdir():
        blob.write_bytes(b"tampered")
    other = copy_project(project, tmp_path / "other")
    summary = run_build(other)
    assert summary.built == ["alpha", "beta"] and not summary.restored
    assert "content does not match its hash" in capsys.readouterr().err
    assert snapshot(other) == snapshot(project)
    assert not [p for p in (other / ".tfjs-build/cache/blobs").rglob("*.tmp")]


def test_unreachable_remote_is_a_warning(project: Path, capsys) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    summary = run_build(with_remote(project, f"http://user:secret@127.0.0.1:{port}/cache"))
    assert summary.built == ["alpha", "beta"] and not summary.failed
    err = capsys.readouterr().err
    assert err.count("remote cache:") == 1 and "cannot reach it" in err and "secret" not in err
