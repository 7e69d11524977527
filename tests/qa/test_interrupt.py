"""Ctrl-C (SIGINT to the foreground group) or a CI cancel (SIGTERM to tfjs-build) during a real build: exit 130,
a one-line message, previous outputs and tfjs.lock intact, no
worker left running, and the next build cleans up and succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_process import as_from_a_terminal
from projects import quickstart, snapshot
from qa_cli import group_ends


def _build(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(as_from_a_terminal("-m", "tfjs_build", "--no-color", "-C", str(project), "build", *args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "whole_group"), [(signal.SIGINT, True), (signal.SIGTERM, False)],
                         ids=["ctrl-c", "sigterm"])
def test_interrupted_build(tmp_path: Path, signum: int, whole_group: bool) -> None:
    project = quickstart(tmp_path)
    assert _build(project).wait(timeout=120) == 0
    before = snapshot(project, "dist")

    build = _build(project, "--force")
    deadline = time.monotonic() + 60
    while not list((project / "dist").glob(".digits-layers.tmp-*")):  # the conversion has been handed out
        assert time.monotonic() < deadline and build.poll() is None, build.communicate()
        time.sleep(0.05)
    time.sleep(1.0)
    if whole_group:
        os.killpg(build.pid, signum)  # what a terminal's Ctrl-C does: the whole foreground group
    else:
        os.kill(build.pid, signum)  # what a CI runner's cancel does
    out, err = build.communicate(timeout=60)
    assert build.returncode == 130, (out, err)
    assert err.strip() == "error: interrupted"
    assert snapshot(project, "dist") == before
    assert group_ends(build.pid, within=10.0)  # every process of the build, workers included, is gone

    again = _build(project)
    assert again.wait(timeout=120) == 0, again.communicate()
    assert snapshot(project, "dist") == before
    assert not list((project / "dist").glob(".*"))  # the interrupted build's temp folder is cleaned up
