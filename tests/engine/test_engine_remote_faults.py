"""A remote cache that fails in every way a network or a hostile server can (hostile_server.py, a stand-in
server on loopback): each costs one warning and a local conversion, never a wrong output, a traceback,
a file outside the project or a wait beyond the deadline.

The probe behind issue 13: a blob cut short mid-download was exit 3 (ChunkedEncodingError) on every
build; a server trickling one byte every 20 s held a build for over 7 minutes; one that never answered
cost 60 s per request. The deadline is set to 2 s here ($TFJS_BUILD_CACHE_DEADLINE; an honest push that
sets the scene gets 30 s, as a loaded CI machine may need); what is asserted is the outcome, and
pytest-timeout turns a hang into a failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_server import ESCAPE, KINDS, Fault, HostileCache, hostile_cache
from projects import copy_project, snapshot
from stand_in_runs import run_build

from tfjs_build.engine.local_cache import LocalCache
from tfjs_build.engine.lockfile import LockEntry
from tfjs_build.engine.remote_cache import DEADLINE_ENV, TOKEN_ENV, RemoteCache, RemoteCacheError

SECRETS = ("url-secret", "token-secret", "secret-in-body")
FAULT_DEADLINE, HONEST_DEADLINE = "2", "30"
FETCH_FAULTS = {  # where each kind hurts most while another machine fetches: the entry or a blob
    "http-500": "/ac/", "redirect": "/ac/", "hang": "/ac/", "slow-headers": "/ac/", "reset": "/ac/",
    "garbage": "/ac/", "trickle": "/cas/", "truncate": "/cas/", "truncate-chunked": "/cas/",
    "wrong-hash": "/cas/", "oversize": "/cas/", "bad-path": "/ac/", "not-json": "/ac/", "deep-json": "/ac/",
    "wrong-entry": "/ac/",
}
PUSH_FAULTS = [Fault("hang", "/cas/", ("HEAD",)), Fault("slow-headers", "/cas/", ("HEAD",)),
               Fault("reset", "/cas/", ("PUT",)), Fault("http-500", "/ac/", ("PUT",)),
               Fault("garbage", "/", ("HEAD",)), Fault("redirect", "/ac/", ("PUT",))]
assert set(FETCH_FAULTS) == set(KINDS)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[HostileCache]:
    monkeypatch.setenv(DEADLINE_ENV, FAULT_DEADLINE)
    monkeypatch.setenv(TOKEN_ENV, "token-secret")
    with hostile_cache() as cache:
        yield cache


def with_remote(root: Path, url: str) -> Path:
    with open(root / "tfjs.yaml", "a", encoding="utf-8") as config:
        config.write(f"cache:\n  remote: {url}\n")
    return root


def secret_url(server: HostileCache) -> str:
    return server.url.replace("http://", "http://builder:url-secret@")


def assert_one_warning_and_nothing_after(server: HostileCache, fault: Fault, err: str) -> None:
    assert err.count("warning:") == 1 and err.count("remote cache:") == 1, err
    assert "continuing without it" in err and "Traceback" not in err
    assert not any(secret in err for secret in SECRETS), err
    faulted = [i for i, line in enumerate(server.log) if fault.applies(*line.split(" ", 1))]
    assert faulted == [len(server.log) - 1], server.log  # the remote was not used after its first failure


def assert_cache_sound(root: Path) -> None:
    """The local cache holds no temp file and only valid entries whose blobs match their hashes."""
    cache_dir = root / ".tfjs-build/cache"
    assert not [p for p in cache_dir.rglob("*") if p.name.endswith(".tmp")]
    for path in (cache_dir / "entries").rglob("*.json"):
        entry = LockEntry.from_json(json.loads(path.read_text()))
        assert ESCAPE not in path.read_text()
        for f in entry.files:
            assert LocalCache(cache_dir).blob(f.sha256).is_file()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", KINDS)
def test_fetch_fault_is_one_warning_and_a_local_build(project: Path, tmp_path: Path, server: HostileCache,
                                                      conversions, capsys, monkeypatch, kind: str) -> None:
    monkeypatch.setenv(DEADLINE_ENV, HONEST_DEADLINE)
    assert run_build(with_remote(project, secret_url(server))).built == ["alpha", "beta"]  # pushed honestly
    monkeypatch.setenv(DEADLINE_ENV, FAULT_DEADLINE)
    assert any(line.startswith("PUT /cache/ac/") for line in server.log)
    fault = server.fault = Fault(kind, FETCH_FAULTS[kind], ("GET",))
    server.log.clear()
    capsys.readouterr()
    other = copy_project(project, tmp_path / "other")  # another machine: empty local cache, same remote
    summary = run_build(other)
    assert (summary.built, summary.restored, summary.failed) == (["alpha", "beta"], [], [])
    assert sorted(conversions()) == ["alpha", "alpha", "beta", "beta"]
    assert snapshot(other) == snapshot(project)
    assert_one_warning_and_nothing_after(server, fault, capsys.readouterr().err)
    assert_cache_sound(other)
    assert not list(tmp_path.rglob("x.sh"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fault", PUSH_FAULTS, ids=lambda f: f"{f.kind}-{'/'.join(f.methods)}{f.path_part}")
def test_push_fault_is_one_warning(project: Path, tmp_path: Path, server: HostileCache, capsys, fault: Fault) -> None:
    reference = copy_project(project, tmp_path / "reference")
    run_build(reference)  # no remote at all
    server.fault = fault
    summary = run_build(with_remote(project, secret_url(server)))
    assert (summary.built, summary.restored, summary.failed) == (["alpha", "beta"], [], [])
    assert snapshot(project) == snapshot(reference)
    assert_one_warning_and_nothing_after(server, fault, capsys.readouterr().err)
    assert_cache_sound(project)


def test_a_bad_deadline_setting_is_one_warning_and_no_request(project: Path, server: HostileCache,
                                                             monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv(DEADLINE_ENV, "soon")
    summary = run_build(with_remote(project, server.url))
    assert summary.built == ["alpha", "beta"] and not summary.failed
    err = capsys.readouterr().err
    assert err.count("remote cache:") == 1 and f"${DEADLINE_ENV}='soon': expected the seconds" in err, err
    assert server.log == []


def test_the_build_budget_bounds_all_requests_together(tmp_path: Path, server: HostileCache) -> None:
    """Many requests that each finish in time still stop once the build's total is spent (a clock we move)."""
    now = [0.0]
    remote = RemoteCache(server.url, LocalCache(tmp_path / "cache"), clock=lambda: now[0])
    assert remote.fetch("a" * 64) is False  # in budget: asked, and the server has no such entry
    now[0] = 5 * 2.0 + 0.01  # BUDGET_FACTOR deadlines of 2 s have passed
    with pytest.raises(RemoteCacheError, match="this build's time for the remote cache .10 s. is used up"):
        remote.fetch("b" * 64)
    now[0] = 0.0
    with pytest.raises(RemoteCacheError):  # and after a failure it is never asked again
        remote.fetch("c" * 64)
    assert server.log == ["GET /cache/ac/" + "a" * 64]
    remote.close()
