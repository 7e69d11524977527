"""`tfjs-build bench` end to end: the built quickstart timed in real TF.js, figures recorded in tfjs.bench.json.

No timing assertions: the figures are checked for what they are (consistent with each other and
with what ran), never for how fast this machine happens to be.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .test_verify_command import built, tfjs_build  # noqa: F401  (the built quickstart fixture, shared)

pytestmark = [pytest.mark.slow, pytest.mark.node]


@pytest.fixture
def project(built: Path, tmp_path: Path) -> Path:  # noqa: F811  (the imported fixture, by name)
    copy = tmp_path / "p"
    shutil.copytree(built, copy)
    return copy


def _record(project: Path) -> dict:
    return json.loads((project / "tfjs.bench.json").read_text())


def _assert_consistent(figures: dict, runs: int, processes: int = 1) -> None:
    """What must hold of any honest measurement, whatever the machine's speed."""
    assert figures["runs"] == runs and 1 <= figures["rounds"] <= 3 and figures["loops"] >= 1
    assert len(figures["process_medians"]) == processes
    assert figures["median_ms"] == min(figures["process_medians"])  # the quietest process is kept
    assert len(figures["round_medians"]) == figures["rounds"]
    assert figures["median_ms"] == min(figures["round_medians"])  # the quietest round is kept
    assert 0 < figures["median_ms"] <= figures["p90_ms"]
    assert figures["spread"] == pytest.approx(figures["p90_ms"] / figures["median_ms"], rel=2e-3, abs=2e-3)
    assert figures["load_ms"] > 0 and figures["first_ms"] > 0
    assert figures["peak_bytes"] >= figures["resident_bytes"] > 0
    kernels = figures["kernels"]
    assert 0 < len(kernels) <= 5
    assert [k[1] for k in kernels] == sorted((k[1] for k in kernels), reverse=True)
    assert not any(name.endswith("__op") for name, _, _ in kernels), "op scopes are not kernels"
    assert sum(k[1] for k in kernels) <= figures["kernel_total_ms"] + 1e-3


def test_bench_records_every_figure_on_cpu_and_wasm(project: Path) -> None:
    result = tfjs_build("bench", "--backend", "cpu,wasm", "--runs", "5", "--warmup", "1", "--calibrate", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    record = _record(project)
    lock = json.loads((project / "tfjs.lock").read_text())
    assert sorted(record["models"]) == ["digits", "digits-layers"]
    for name, bench in record["models"].items():
        assert bench["fingerprint"] == lock["models"][name]["fingerprint"]
        assert sorted(bench["backends"]) == ["cpu", "wasm"]
        for figures in bench["backends"].values():
            _assert_consistent(figures, runs=5, processes=2)
            assert figures["reference_ms"] > 0
        assert {f["mode"] for f in bench["backends"].values()} == {"predict" if name == "digits-layers" else "execute"}
    machine = record["machine"]
    assert machine["cores"] == os.cpu_count() and machine["tfjs"] == "4.22.0"
    assert machine["node"] == subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    assert machine["chromium"] is None and machine["gl_renderer"] is None  # webgl did not run
    assert "digits-layers [wasm]: median " in result.stderr  # progress, one line per backend
    table = result.stdout.splitlines()
    assert table[0].split() == ["Model", "Backend", "Load", "First", "Median", "p90", "Spread", "Peak", "memory", "x",
                                "ref"]
    assert any(line.startswith("digits-layers [wasm] slowest kernels: ") for line in table)
    assert f"machine: {machine['cpu']}, {machine['cores']} cores" in result.stdout


def test_a_second_run_merges_by_backend_and_no_record_writes_nothing(project: Path) -> None:
    assert tfjs_build("bench", "digits", "--backend", "cpu", "--runs", "3", "--warmup", "0", "--processes", "1",
                      cwd=project).returncode == 0
    first = _record(project)
    result = tfjs_build("bench", "digits", "--backend", "wasm", "--runs", "3", "--warmup", "0", "--processes", "1",
                        "--format", "markdown", cwd=project)
    assert result.returncode == 0, result.stderr
    merged = _record(project)
    assert sorted(merged["models"]["digits"]["backends"]) == ["cpu", "wasm"]
    assert merged["models"]["digits"]["backends"]["cpu"] == first["models"]["digits"]["backends"]["cpu"]
    assert result.stdout.startswith("### tfjs-build bench: 1 model\n")
    assert "| `digits` | wasm |" in result.stdout
    assert "<details><summary>digits: slowest kernels" in result.stdout

    before = (project / "tfjs.bench.json").read_bytes()
    result = tfjs_build("bench", "digits", "--backend", "cpu", "--runs", "3", "--processes", "1", "--no-record",
                        "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    assert (project / "tfjs.bench.json").read_bytes() == before
    printed = json.loads(result.stdout)
    assert list(printed["models"]["digits"]["backends"]) == ["cpu"]


def test_bench_refuses_a_stale_model_and_bad_arguments(project: Path) -> None:
    config = project / "tfjs.yaml"
    config.write_text(config.read_text().replace("shard_size: 4MiB", "shard_size: 2MiB"))
    result = tfjs_build("bench", "digits", cwd=project)
    assert result.returncode == 2
    assert "digits is stale (config changed: shard_size)" in result.stderr
    assert "run `tfjs-build build digits` before benchmarking" in result.stderr
    assert not (project / "tfjs.bench.json").exists()
    bad = tfjs_build("bench", "--backend", "wasm,metal", cwd=project)
    assert bad.returncode == 2 and "expected backends from cpu, wasm, webgl" in bad.stderr
    assert tfjs_build("bench", "--runs", "2", cwd=project).returncode == 2


@pytest.mark.browser
def test_webgl_runs_in_chromium_and_names_the_gl_renderer(project: Path, chromium: str) -> None:
    result = tfjs_build("bench", "digits-layers", "--backend", "webgl", "--runs", "3", "--warmup", "1",
                        "--processes", "1", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    record = _record(project)
    _assert_consistent(record["models"]["digits-layers"]["backends"]["webgl"], runs=3)
    machine = record["machine"]
    version = subprocess.run([chromium, "--version"], capture_output=True, text=True).stdout
    assert machine["chromium"] and machine["chromium"] in version
    assert machine["gl_renderer"] and f"GL {machine['gl_renderer']}" in result.stdout
