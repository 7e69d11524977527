"""The light core (``pip install tfjs-build``, no TensorFlow): what works, and what says to install the extra.

TensorFlow is hidden from the CLI subprocesses (hidden_tensorflow.py): ``find_spec`` finds
nothing, as in a core-only venv. The cache is filled beforehand by builds that use the
engine tests' stand-in converter (tests/engine/stand_in_converter.py), in this process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_process import run_cli
from hidden_tensorflow import hide_tensorflow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from projects import pair_project, snapshot, write_pair_config  # noqa: E402
from stand_in_runs import run_build  # noqa: E402

HINT = "pip install 'tfjs-build[tensorflow]'"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return pair_project(tmp_path / "project", sizes=(20_000, 20_000))


def stand_in_build(root: Path) -> None:
    summary = run_build(root)
    assert summary.exit_code == 0, summary.failed


def core_cli(root: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli("-C", str(root), *args, env={"PYTHONPATH": str(hide_tensorflow(tmp_path)), "NO_COLOR": "1"},
                   timeout=120)


def test_a_build_whose_stale_models_are_all_cached_needs_no_tensorflow(root, tmp_path):
    write_pair_config(root, "uint8")
    stand_in_build(root)
    write_pair_config(root, "float16")
    stand_in_build(root)  # the cache now holds beta as uint8 and as float16
    write_pair_config(root, "uint8")

    result = core_cli(root, tmp_path, "build")
    assert result.returncode == 0, result.stderr
    assert "beta: restored from cache" in result.stdout and "1 fresh, 1 restored from cache" in result.stdout
    for args in (("status",), ("plan",), ("check",)):
        result = core_cli(root, tmp_path, *args)
        assert result.returncode == 0, (args, result.stderr)


def test_a_build_that_must_convert_without_tensorflow_is_a_user_error_that_changes_nothing(root, tmp_path):
    write_pair_config(root, "uint8")
    stand_in_build(root)
    write_pair_config(root, "uint16")  # beta: stale, and no cache entry has it
    before = snapshot(root)

    result = core_cli(root, tmp_path, "build")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: converting beta needs TensorFlow, which is not installed here")
    assert HINT in result.stderr and "Traceback" not in result.stderr
    assert snapshot(root) == before, "tfjs.lock and the built outputs are left as they were"
    assert not (root / ".tfjs-build" / "work").exists() or not any((root / ".tfjs-build" / "work").iterdir())

    result = core_cli(root, tmp_path, "verify", "alpha")
    assert result.returncode == 2 and "verify (it compares TF.js with TensorFlow" in result.stderr and HINT in result.stderr
