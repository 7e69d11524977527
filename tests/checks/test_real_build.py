"""`check` on what the real builder wrote: a Keras model converted to graph and layers formats."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_process import run_cli

from tfjs_build.engine.lockfile import read_lock
from tfjs_build.util.units import format_size, format_size_delta

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "models" / "digits.keras"
CONFIG = """\
version: 1
models:
  digits:
    source: digits.keras
    budgets: {{size: {size}, transfer: 48KiB}}
  digits-layers:
    source: digits.keras
    format: layers
"""


def _cli(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return run_cli("--no-color", "-C", str(root), *argv)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("real_build")
    shutil.copy(QUICKSTART, root / "digits.keras")
    (root / "tfjs.yaml").write_text(CONFIG.format(size="64KiB"), encoding="utf-8")
    result = _cli(root, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.mark.slow
def test_check_reads_the_real_lock_and_model_json(built: Path) -> None:
    result = _cli(built, "check", "--json", "--html", "report.html")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    lock = read_lock(built / "tfjs.lock")
    for model in report["models"]:
        entry = lock.models[model["name"]]
        assert model["figures"]["size"] == entry.size == sum(f.size for f in entry.files)
        assert model["notes"] == []  # model.json was found and read
        assert model["weights"] == [list(w) for w in entry.weights] and entry.weights
    html = (built / "report.html").read_text(encoding="utf-8")
    heaviest = max(lock.models["digits"].weights, key=lambda w: w[2])[0].rpartition("/")[0]
    assert f'title="{heaviest}"' in html


@pytest.mark.slow
def test_tightened_budget_fails_without_a_rebuild(built: Path) -> None:
    (built / "tfjs.yaml").write_text(CONFIG.format(size="1KiB"), encoding="utf-8")
    try:
        result = _cli(built, "check")
    finally:
        (built / "tfjs.yaml").write_text(CONFIG.format(size="64KiB"), encoding="utf-8")
    size = read_lock(built / "tfjs.lock").models["digits"].size
    assert result.returncode == 1
    message = (f"FAIL {built / 'tfjs.yaml'}:5:21: models.digits.budgets.size: {format_size(size)} is over the "
               f"limit of 1.0 kB ({format_size_delta(size - 1024)})")
    assert message in result.stdout.splitlines(), result.stdout
