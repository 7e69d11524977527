"""The build, status, plan and cache commands through the real CLI, in fresh processes.

A no-op build and status run with a ``tensorflow`` package first on PYTHONPATH whose
import raises, so any import of TensorFlow on those paths fails the test.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cli_process import run_cli
from no_tensorflow import PoisonedTensorflow
from projects import DATA_FILE, write_pair_config
from stand_in_runs import run_build

from tfjs_build.errors import EXIT_USER_ERROR


def cli(root: Path, *args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = {"NO_COLOR": "1"} | ({"PYTHONPATH": str(pythonpath)} if pythonpath is not None else {})
    return run_cli("-C", str(root), *args, env=env, timeout=120)


def test_noop_build_and_status_never_import_tensorflow(project: Path, poisoned_tensorflow: PoisonedTensorflow) -> None:
    run_build(project)
    poison = poisoned_tensorflow.pythonpath
    build = cli(project, "build", pythonpath=poison)
    assert (build.returncode, build.stdout.strip()) == (0, "2 fresh"), build.stderr
    status = cli(project, "status", pythonpath=poison)
    assert (status.returncode, status.stdout) == (0, "fresh  alpha\nfresh  beta\n"), status.stderr
    for args in (("plan", "--json"), ("status", "--json")):
        assert cli(project, *args, pythonpath=poison).returncode == 0
    assert not poisoned_tensorflow.imported


def test_restoring_from_the_cache_never_imports_tensorflow(project: Path, poisoned_tensorflow: PoisonedTensorflow) -> None:
    run_build(project)
    write_pair_config(project, quantize="float16")
    run_build(project)
    write_pair_config(project, quantize="uint8")
    restore = cli(project, "build", pythonpath=poisoned_tensorflow.pythonpath)
    assert (restore.returncode, restore.stdout) == (
        0, f"beta: restored from cache\n1 fresh, 1 restored from cache\n  {project / 'dist/tfjs/beta/model.json'}\n"
    )


def test_status_and_plan_report_reasons(project: Path) -> None:
    run_build(project)
    (project / "models/alpha" / DATA_FILE).write_bytes(b"new weights")
    write_pair_config(project, quantize="uint16")
    status = cli(project, "status")
    assert status.stdout == (
        f"stale  alpha  source changed: {DATA_FILE}\n"
        "stale  beta   config changed: quantize\n"
    )
    data = json.loads(cli(project, "status", "--json").stdout)
    assert [(m["model"], m["state"], m["reasons"]) for m in data["models"]] == [
        ("alpha", "stale", [f"source changed: {DATA_FILE}"]),
        ("beta", "stale", ["config changed: quantize"]),
    ]
    matrix = json.loads(cli(project, "plan", "--json").stdout)
    assert matrix == {"include": [
        {"model": "alpha", "reasons": f"source changed: {DATA_FILE}"},
        {"model": "beta", "reasons": "config changed: quantize"},
    ]}
    assert cli(project, "plan", "beta").stdout == "beta\n"


def test_state_folder_keeps_itself_out_of_git(project: Path) -> None:
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    assert cli(project, "status").returncode == 0
    untracked = subprocess.run(["git", "-C", str(project), "status", "--porcelain", "--untracked-files=all"],
                               capture_output=True, text=True, check=True).stdout
    assert "tfjs.yaml" in untracked and ".tfjs-build" not in untracked


def test_build_failure_exit_code_and_message(project: Path) -> None:
    result = cli(project, "build", "nope")
    assert result.returncode == EXIT_USER_ERROR
    assert "no model named 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_cache_gc_command(project: Path) -> None:
    run_build(project)
    result = cli(project, "cache", "gc", "--max-size", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("removed 2 entries")
    assert not [p for p in (project / ".tfjs-build/cache/blobs").rglob("*") if p.is_file()]
    bad = cli(project, "cache", "gc", "--max-size", "lots")
    assert bad.returncode == EXIT_USER_ERROR and "--max-size" in bad.stderr
