"""Cache entries and tfjs.lock are untrusted: a file path or digest in them must never reach outside the model folder.

A hostile probe listed ``../../../../outside/x.sh`` in a remote cache entry and the build
wrote that file outside the project ("restored from cache", exit 0), then kept the entry in
the local cache. Every entry goes through ``LockEntry.from_json``, which now refuses any
path a model output folder cannot hold and any digest that is not 64 lowercase hex digits.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from projects import copy_project
from stand_in_runs import run_build, stand_in_cli
from test_engine_remote import nginx, with_remote  # noqa: F401  (nginx: the module-scoped fixture)

from tfjs_build.engine.local_cache import CorruptEntry, LocalCache
from tfjs_build.engine.lockfile import LockEntry, OutputFile, output_file_problem

ESCAPE = "../../../../outside/x.sh"  # from a model's temp folder (dist/tfjs/.NAME.tmp-*) to beside the project
PAYLOAD = b"#!/bin/sh\necho pwned\n"


def add_file(entry: dict[str, Any], path: str, data: bytes = PAYLOAD, sha256: str | None = None) -> dict[str, Any]:
    files = [*entry["files"], {"path": path, "size": len(data), "sha256": sha256 or hashlib.sha256(data).hexdigest()}]
    return {**entry, "files": files}


def escaped(tmp_path: Path) -> list[Path]:
    """Every x.sh the probe's entries could have written, anywhere below the test's folder."""
    return list(tmp_path.rglob("x.sh"))


def entry_files(root: Path) -> list[Path]:
    return list((root / ".tfjs-build/cache/entries").rglob("*.json"))


def locked(root: Path, name: str) -> dict[str, Any]:
    return json.loads((root / "tfjs.lock").read_text(encoding="utf-8"))["models"][name]


# ---------------------------------------------------------------- the naming rule


@pytest.mark.parametrize("path", ["model.json", "group1-shard1of1.bin", "group12-shard3of10.bin",
                                  "w-0123456789abcdef.bin", "W_1.2.bin"])
def test_names_a_model_folder_may_hold(path: str) -> None:
    assert output_file_problem(path) is None


@pytest.mark.parametrize("path", [
    ESCAPE, "../model.json", "/etc/cron.d/x.bin", "sub/model.json", "./model.json", "a//b.bin", "model.json/",
    "group1\\..\\x.bin", "x\0.bin", "", ".", "..", ".hidden.bin", "-x.bin", "x.sh", "model.json.bak", "README.md",
    "a" * 300 + ".bin",
])
def test_names_a_model_folder_may_not_hold(path: str) -> None:
    assert output_file_problem(path)


def valid_entry() -> dict[str, Any]:
    files = (OutputFile("group1-shard1of1.bin", 256, "a" * 64), OutputFile("model.json", 10, "b" * 64))
    return LockEntry(fingerprint="f" * 64, converter="1", inputs={}, settings={}, files=files, size=266,
                     transfer=200, transfer_brotli=None, shards=1, params=64, ops=("Const",)).to_json()


def test_valid_entry_parses() -> None:
    assert LockEntry.from_json(valid_entry()).to_json() == valid_entry()


@pytest.mark.parametrize(("change", "message"), [
    (lambda e: add_file(e, ESCAPE), f"files[2].path {ESCAPE!r}"),
    (lambda e: add_file(e, "/tmp/x.bin"), "files[2].path '/tmp/x.bin'"),
    (lambda e: add_file(e, "model.json"), "files[2].path 'model.json' is listed twice"),
    (lambda e: {**e, "files": e["files"][:1]}, "files: no model.json"),
    (lambda e: add_file(e, "x.bin", sha256="A" * 64), "files[2].sha256"),
    (lambda e: add_file(e, "x.bin", sha256="../../tfjs.yaml"), "files[2].sha256"),
    (lambda e: {**e, "files": [{**e["files"][0], "size": -1}, e["files"][1]]}, "files[0].size"),
])
def test_entries_with_hostile_files_are_refused(change, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        LockEntry.from_json(change(valid_entry()))
    assert message in str(refused.value)


def test_local_entry_too_deep_for_json_is_discarded(tmp_path: Path) -> None:
    cache = LocalCache(tmp_path / "cache")
    cache.add_entry(LockEntry.from_json(valid_entry()))
    (path,) = (tmp_path / "cache").rglob("*.json")
    path.write_text('{"settings": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    with pytest.raises(CorruptEntry, match="is unreadable"):
        cache.restore("f" * 64, tmp_path / "out")
    assert not path.exists()


# ---------------------------------------------------------------- the remote cache


def test_remote_entry_with_an_escaping_path(project: Path, tmp_path: Path, nginx, conversions, capsys) -> None:  # noqa: F811
    url = f"{nginx.url}/{tmp_path.name}"
    run_build(with_remote(project, url))
    remote = nginx.root / tmp_path.name
    (remote / "cas" / hashlib.sha256(PAYLOAD).hexdigest()).write_bytes(PAYLOAD)
    for entry in (remote / "ac").iterdir():
        entry.write_text(json.dumps(add_file(json.loads(entry.read_text()), ESCAPE)))
    summary = run_build(copy_project(project, tmp_path / "other"))  # its own, empty local cache; same remote
    assert (summary.built, summary.restored, summary.failed) == (["alpha", "beta"], [], [])
    assert sorted(conversions()) == ["alpha", "alpha", "beta", "beta"]
    err = capsys.readouterr().err
    assert err.count("remote cache:") == 1 and "not a cache entry" in err and ESCAPE in err, err
    assert not escaped(tmp_path)
    assert all(ESCAPE not in path.read_text() for path in entry_files(tmp_path / "other"))  # never stored locally


# ---------------------------------------------------------------- the local cache


def poison_local_entry(root: Path, name: str, **file: Any) -> None:
    """Add a hostile file to ``name``'s local cache entry (its blob too), then delete the output to restore it."""
    (path,) = [p for p in entry_files(root) if p.stem == locked(root, name)["fingerprint"]]
    cache = LocalCache(root / ".tfjs-build/cache")
    blob = cache.blob(hashlib.sha256(PAYLOAD).hexdigest())
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(PAYLOAD)
    path.write_text(json.dumps(add_file(json.loads(path.read_text()), **file)))
    for output in (root / "dist/tfjs" / name).iterdir():
        output.unlink()


@pytest.mark.parametrize("file", [{"path": ESCAPE}, {"path": "x.bin", "sha256": "../../tfjs.yaml"}],
                         ids=["escaping-path", "escaping-digest"])
def test_poisoned_local_entry_is_discarded(project: Path, tmp_path: Path, conversions, capsys, file) -> None:
    run_build(project)
    config = (project / "tfjs.yaml").read_bytes()
    poison_local_entry(project, "alpha", **file)
    summary = run_build(project)
    assert (summary.built, summary.restored, summary.failed) == (["alpha"], [], [])
    assert sorted(conversions()) == ["alpha", "alpha", "beta"]
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "alpha: cache entry" in err and "discarded it, converting again" in err, err
    assert not escaped(tmp_path) and (project / "tfjs.yaml").read_bytes() == config
    for path in entry_files(project):  # the rebuilt entry replaced the poisoned one
        LockEntry.from_json(json.loads(path.read_text()))


def test_restore_never_writes_through_a_symlink(project: Path, tmp_path: Path) -> None:
    run_build(project)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "model.json").symlink_to(victim)
    with pytest.raises(OSError):
        LocalCache(project / ".tfjs-build/cache").restore(locked(project, "alpha")["fingerprint"], dest)
    assert victim.read_text() == "keep me"


# ---------------------------------------------------------------- tfjs.lock


@pytest.mark.parametrize("command", ["build", "status"])
def test_lock_with_an_escaping_path_is_refused(project: Path, tmp_path: Path, command: str) -> None:
    run_build(project)
    data = json.loads((project / "tfjs.lock").read_text())
    data["models"]["beta"]["files"][0]["path"] = ESCAPE
    (project / "tfjs.lock").write_text(json.dumps(data))
    os.remove(project / "dist/tfjs/beta/model.json")  # stale: a build would restore or convert it
    run = stand_in_cli(project, command)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert f"tfjs.lock: models.beta: not a valid lock entry (files[0].path {ESCAPE!r}" in run.stderr, run.stderr
    assert "git checkout -- tfjs.lock" in run.stderr
    assert not escaped(tmp_path)
