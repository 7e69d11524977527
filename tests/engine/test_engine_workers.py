"""Worker processes and interruptions (issue 13.11), with the stand-in converter: a killed worker fails only its
own model; Ctrl-C or a CI cancel stops running conversions at once; a SIGTERM after the summary still exits 130;
a kill between tfjs.lock's temp write and its rename leaves nothing behind once the next build ran."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from projects import snapshot
from stand_in_runs import run_build, stand_in_cli_process, wait_for


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"  # a zombie has ended


def test_a_killed_worker_fails_only_its_own_model(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAND_IN_DIE", "alpha")
    summary = run_build(project, jobs=1)  # beta waits in the queue while alpha's worker dies
    assert summary.built == ["beta"]
    [(name, message, code)] = summary.failed
    assert (name, code) == ("alpha", 3)
    assert "the worker process converting it died (killed by SIGKILL" in message
    monkeypatch.delenv("STAND_IN_DIE")
    assert run_build(project).built == ["alpha"]


def test_a_killed_worker_leaves_the_running_ones_alone(project: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, conversions) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    monkeypatch.setenv("STAND_IN_DIE", "alpha")
    monkeypatch.setenv("STAND_IN_GATE", str(gate))

    def release_once_alpha_died() -> None:
        wait_for(gate / "beta.started")
        while "alpha" not in conversions():
            time.sleep(0.05)
        time.sleep(1.0)  # alpha's worker is long dead: beta's conversion has to outlive that
        (gate / "release").touch()

    releaser = threading.Thread(target=release_once_alpha_died)
    releaser.start()
    try:
        summary = run_build(project, jobs=2)
    finally:
        (gate / "release").touch()
        releaser.join()
    assert summary.built == ["beta"] and [name for name, _, _ in summary.failed] == ["alpha"]


@pytest.mark.parametrize(("signum", "whole_group"), [(signal.SIGINT, True), (signal.SIGTERM, False)],
                         ids=["ctrl-c", "ci-cancel"])
def test_an_interrupt_stops_running_conversions_at_once(project: Path, tmp_path: Path, signum: int,
                                                        whole_group: bool) -> None:
    run_build(project)
    before = snapshot(project)
    gate = tmp_path / "gate"
    gate.mkdir()
    build = stand_in_cli_process(project, "build", "--force", env={"STAND_IN_GATE": str(gate)})
    try:
        wait_for(gate / "alpha.started")
        wait_for(gate / "beta.started")
        workers = [int((gate / f"{name}.started").read_text()) for name in ("alpha", "beta")]
        if whole_group:
            os.killpg(build.pid, signum)  # what a terminal's Ctrl-C does
        else:
            build.send_signal(signum)  # what a CI runner's cancel does
        out, err = build.communicate(timeout=30)  # the gated conversions would hold it 60 s
    finally:
        (gate / "release").touch()
        build.kill()
    assert build.returncode == 130, (out, err)
    assert err.strip().endswith("error: interrupted") and "Traceback" not in err, err
    assert snapshot(project) == before
    assert not [pid for pid in workers if _alive(pid)]


def test_sigterm_after_the_summary_exits_130(project: Path, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    build = stand_in_cli_process(project, "build", env={"STAND_IN_EXIT_GATE": str(gate)})
    try:
        wait_for(gate / "exiting")  # the command is done: summary printed, the interpreter shutting down
        build.send_signal(signal.SIGTERM)
        out, err = build.communicate(timeout=30)
    finally:
        (gate / "release").touch()
        build.kill()
    assert build.returncode == 130, (out, err)
    assert "2 built" in out + err  # nothing the command printed is lost


KILLED_LOCK_WRITE = """\
import os, sys, time
from pathlib import Path
from tfjs_build.engine.lockfile import Lock, read_lock, write_lock
def stuck(*args):  # the temp file is written and synced: be killed before the rename
    print("written", flush=True)
    time.sleep(60)
os.replace = stuck
path = Path(sys.argv[1])
write_lock(path, Lock({name: e for name, e in read_lock(path).models.items() if name != "alpha"}))
"""


def test_a_lock_write_killed_before_its_rename_is_cleaned_up(project: Path) -> None:
    run_build(project)
    lock = project / "tfjs.lock"
    before = lock.read_bytes()
    writer = subprocess.Popen([sys.executable, "-c", KILLED_LOCK_WRITE, str(lock)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline() == "written\n"
    writer.kill()
    writer.wait()
    (leftover,) = project.glob(".tfjs.lock.*.tmp")
    theirs = [project / ".tfjs.lock.notes.tmp", project / "tfjs.lock.bak"]  # not names the tool writes
    for path in theirs:
        path.write_text("the user's", encoding="utf-8")
    assert lock.read_bytes() == before
    assert run_build(project).fresh == ["alpha", "beta"]
    assert not leftover.exists()
    assert all(path.read_text(encoding="utf-8") == "the user's" for path in theirs)
