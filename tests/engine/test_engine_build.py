"""The builder: cache restore, corrupt entries, failures, concurrency, kill -9, determinism, gc."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from projects import DATA_FILE, age, copy_project, snapshot, write_pair_config
from stand_in_runs import build_process, run_build, wait_for

from tfjs_build.engine.local_cache import LocalCache
from tfjs_build.errors import EXIT_USER_ERROR


def test_rebuild_is_byte_identical_across_runs_and_folders(project: Path, tmp_path: Path) -> None:
    run_build(project)
    first = snapshot(project)
    assert run_build(project, force=True).built == ["alpha", "beta"]
    assert snapshot(project) == first
    other = copy_project(project, tmp_path / "other")
    run_build(other)
    assert snapshot(other) == first


def test_noop_build_converts_nothing_and_leaves_the_lock_alone(project: Path, conversions) -> None:
    run_build(project)
    lock = project / "tfjs.lock"
    before = (lock.stat().st_ino, lock.stat().st_mtime_ns)
    summary = run_build(project)
    assert summary.fresh == ["alpha", "beta"] and not summary.built and not summary.restored
    assert (lock.stat().st_ino, lock.stat().st_mtime_ns) == before
    assert sorted(conversions()) == ["alpha", "beta"]


def test_switching_back_restores_from_cache_without_converting(project: Path, conversions) -> None:
    run_build(project)
    original = snapshot(project)
    write_pair_config(project, quantize="float16")
    assert run_build(project).built == ["beta"]
    write_pair_config(project, quantize="uint8")
    summary = run_build(project)
    assert summary.restored == ["beta"] and not summary.built
    assert sorted(conversions()) == ["alpha", "beta", "beta"]
    assert snapshot(project) == original


def test_only_named_models_are_built(project: Path, conversions) -> None:
    assert run_build(project, "beta").built == ["beta"]
    lock = json.loads((project / "tfjs.lock").read_text())
    assert sorted(lock["models"]) == ["beta"]
    assert not (project / "dist/tfjs/alpha").exists()


def test_corrupt_cache_entry_is_discarded_and_rebuilt(project: Path, conversions, capsys) -> None:
    run_build(project)
    original = snapshot(project)
    entry = json.loads((project / "tfjs.lock").read_text())["models"]["beta"]
    shard = next(f for f in entry["files"] if f["path"].endswith(".bin"))
    blob = project / ".tfjs-build/cache/blobs" / shard["sha256"][:2] / shard["sha256"]
    with open(blob, "r+b") as handle:
        handle.write(b"rot")
    write_pair_config(project, quantize="float16")
    run_build(project)
    write_pair_config(project, quantize="uint8")
    summary = run_build(project)
    assert summary.built == ["beta"] and not summary.restored
    assert "is corrupt" in capsys.readouterr().err
    assert snapshot(project) == original
    assert sorted(conversions()) == ["alpha", "beta", "beta", "beta"]


def test_a_failing_model_does_not_lose_the_others(project: Path) -> None:
    (project / "models/alpha" / DATA_FILE).write_bytes(b"FAIL")
    summary = run_build(project)
    assert summary.built == ["beta"]
    [(name, message, code)] = summary.failed
    assert (name, code) == ("alpha", EXIT_USER_ERROR)
    assert "tfjs.yaml:4:13: models.alpha.source: the stand-in refuses sources containing FAIL" in message
    assert sorted(json.loads((project / "tfjs.lock").read_text())["models"]) == ["beta"]
    assert (project / "dist/tfjs/beta/model.json").is_file()
    assert not list((project / "dist/tfjs").glob(".*"))  # no temp folder left behind


def test_removed_model_leaves_the_lock(project: Path) -> None:
    run_build(project)
    text = (project / "tfjs.yaml").read_text()
    (project / "tfjs.yaml").write_text(text.split("  beta:")[0])
    run_build(project)
    assert sorted(json.loads((project / "tfjs.lock").read_text())["models"]) == ["alpha"]


def test_kill_9_mid_build_keeps_previous_outputs_and_lock(project: Path, tmp_path: Path) -> None:
    run_build(project)
    before = snapshot(project)
    (project / "models/alpha" / DATA_FILE).write_bytes(os.urandom(1000))
    write_pair_config(project, quantize="float16")
    gate = tmp_path / "gate"
    gate.mkdir()
    process = build_process(project, {"STAND_IN_GATE": str(gate)})
    wait_for(gate / "alpha.started")
    wait_for(gate / "beta.started")  # both workers are mid-conversion, temp folders half written
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert snapshot(project) == before
    (gate / "release").touch()  # were the workers still alive, they would now finish model.json
    time.sleep(1.0)
    assert not list((project / "dist/tfjs").glob(".*/model.json"))  # they died with the build
    summary = run_build(project)  # recovers: converts both, cleans the killed build's temp folders
    assert summary.built == ["alpha", "beta"]
    assert not [p for p in (project / "dist/tfjs").iterdir() if p.name.startswith(".")]
    assert snapshot(project) != before


def test_concurrent_builds_wait_for_each_other(project: Path, tmp_path: Path, conversions) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    first = build_process(project, {"STAND_IN_GATE": str(gate)})
    wait_for(gate / "alpha.started")
    second = build_process(project, {"STAND_IN_GATE": str(gate)})
    time.sleep(1.0)  # the second is now blocked on the build lock, not converting
    assert sorted(conversions()) == ["alpha", "beta"]
    (gate / "release").touch()
    out1, _ = first.communicate(timeout=60)
    out2, err2 = second.communicate(timeout=60)
    assert (first.returncode, second.returncode) == (0, 0)
    assert "built: alpha beta" in out1
    assert "waiting for another build" in out2 and "built:  restored:" in out2
    assert sorted(conversions()) == ["alpha", "beta"]


def test_cache_gc_drops_least_recently_used_entries_first(project: Path, conversions) -> None:
    run_build(project)
    uint8_beta = json.loads((project / "tfjs.lock").read_text())["models"]["beta"]["fingerprint"]
    write_pair_config(project, quantize="float16")
    run_build(project)
    cache_dir = project / ".tfjs-build/cache"
    age(cache_dir / "entries" / uint8_beta[:2] / f"{uint8_beta}.json", 3600)  # used longest ago

    def blob_bytes() -> int:
        return sum(p.stat().st_size for p in (cache_dir / "blobs").rglob("*") if p.is_file())

    total = blob_bytes()
    result = LocalCache(cache_dir).gc(total - 1)
    assert (result.removed_entries, result.kept_bytes, blob_bytes()) == (1, blob_bytes(), blob_bytes())
    assert result.kept_bytes <= total - 1
    write_pair_config(project, quantize="uint8")
    assert run_build(project).built == ["beta"]  # its entry was dropped: converted again
    write_pair_config(project, quantize="float16")
    assert run_build(project).restored == ["beta"]  # kept
    assert sorted(conversions()) == ["alpha", "beta", "beta", "beta"]
    assert LocalCache(cache_dir).gc(0).kept_bytes == 0 and blob_bytes() == 0


def test_one_worker_or_two_give_the_same_bytes(project: Path, tmp_path: Path) -> None:
    assert run_build(project, jobs=1).built == ["alpha", "beta"]
    other = copy_project(project, tmp_path / "other")
    assert run_build(other, jobs=2).built == ["alpha", "beta"]
    assert snapshot(other) == snapshot(project)


def test_build_running_as_pid_1_keeps_its_workers(project: Path) -> None:
    """In a container the build may be pid 1; its workers must not mistake that for an orphaned parent."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-fp", "--mount-proc", "true"]).returncode != 0:
        pytest.skip("needs unshare with PID namespaces (root)")
    script = Path(__file__).with_name("build_script.py")
    done = subprocess.run([unshare, "-fp", "--mount-proc", sys.executable, str(script), str(project / "tfjs.yaml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "built: alpha beta" in done.stdout
