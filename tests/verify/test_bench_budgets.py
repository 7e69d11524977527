"""Timing budgets: tfjs.yaml keys, `check` against a recorded tfjs.bench.json (exit 1 naming the line), the
latency column and kernel tables of the reports, and --base deltas only between like machines.

The records here are written by hand (no timing happens), so every figure and message is exact.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import git
import pytest
from projects import Project, entry

from tfjs_build.bench.record import BackendBench, BenchRecord, KernelTime, Machine, ModelBench, write_bench
from tfjs_build.config import load_config
from tfjs_build.config.records import TimeLimit
from tfjs_build.errors import ConfigError, TfjsBuildError
from tfjs_build.project import BENCH_NAME

MACHINE = Machine(cpu="Intel(R) Xeon(R) Processor", cores=2, os="Linux x86_64", tfjs="4.22.0", node="v20.20.2",
                  chromium="156.0.8078.114", gl_renderer="ANGLE (SwiftShader)")
KERNELS = (KernelTime("FusedConv2D", 2.5, 2), KernelTime("Mean", 0.5, 1))


def figures(median: float, first: float = 150.0, peak: int = 40_000, reference: float | None = None) -> BackendBench:
    return BackendBench(mode="execute", runs=20, warmup=3, rounds=1, init_ms=20.0, load_ms=30.0, first_ms=first,
                        median_ms=median, p90_ms=median * 1.1, mad_ms=0.1, spread=1.1, resident_bytes=8_000,
                        peak_bytes=peak, kernel_total_ms=4.0, kernels=KERNELS, round_medians=(median,),
                        reference_ms=reference)


CONFIG = """\
version: 1
models:
  digits:
    source: models/digits
    budgets:
      latency: {wasm: 0.001ms}
"""


@pytest.fixture
def digits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    project = Project(tmp_path)
    project.source("digits")
    project.write_config(CONFIG)
    project.write_lock({"digits": entry()})
    monkeypatch.chdir(tmp_path)  # messages name tfjs.yaml relative to the working directory
    return project


def record(**backends: BackendBench) -> BenchRecord:
    return BenchRecord(MACHINE, {"digits": ModelBench("f" * 64, backends)})


def failures(out: str) -> list[str]:
    return [line.removeprefix("FAIL ") for line in out.splitlines() if line.startswith("FAIL ")]


# ---------------------------------------------------------------- tfjs.yaml


@pytest.mark.parametrize(("text", "expected"), [
    ("40ms", TimeLimit(40.0, "ms")), ("1.5s", TimeLimit(1500.0, "ms")), ("12x", TimeLimit(12.0, "x")),
    ("40", TimeLimit(40.0, "ms")), ("0.001ms", TimeLimit(0.001, "ms")),
])
def test_latency_budgets_read_ms_seconds_and_multiples(digits: Project, text: str, expected: TimeLimit) -> None:
    digits.write_config(CONFIG.replace("{wasm: 0.001ms}", f"{{wasm: {text}, webgl: 2s}}"))
    budgets = load_config(digits.root / "tfjs.yaml").model("digits").budgets
    assert budgets.latency == (("wasm", expected), ("webgl", TimeLimit(2000.0, "ms")))


@pytest.mark.parametrize(("setting", "message"), [
    ("latency: {wsam: 4ms}", "tfjs.yaml:3:55: models.digits.budgets.latency.wsam: unknown key (did you mean "
                             "'wasm'?); expected one of cpu, wasm, webgl"),
    ("latency: {wasm: fast}", "tfjs.yaml:3:61: models.digits.budgets.latency.wasm: expected a time such as 40ms, "
                              "1.5s or 12x (times the calibration workload), got 'fast'"),
    ("latency: {wasm: 0.0001ms}", "tfjs.yaml:3:61: models.digits.budgets.latency.wasm: expected a time from 0.001ms "
                                  "to 3600s, got '0.0001ms'"),
    ("first_inference: {cpu: 2000000x}", "tfjs.yaml:3:68: models.digits.budgets.first_inference.cpu: expected a "
                                         "multiple from 0.001x to 1000000x, got '2000000x'"),
    ("latency: 40ms", "tfjs.yaml:3:54: models.digits.budgets.latency: expected a mapping of backend (cpu, wasm, "
                      "webgl) to a limit, got '40ms'"),
    ("memory: -1", "tfjs.yaml:3:53: models.digits.budgets.memory: expected a size >= 0, got -1"),
])
def test_bad_timing_budgets_name_the_line(digits: Project, setting: str, message: str) -> None:
    digits.write_config(f"version: 1\nmodels:\n  digits: {{source: models/digits, budgets: {{{setting}}}}}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(digits.root / "tfjs.yaml")
    assert str(caught.value) == message


# ---------------------------------------------------------------- check


def test_a_latency_over_budget_fails_check_with_exit_1_and_the_line(digits: Project) -> None:
    write_bench(digits.root / BENCH_NAME, record(wasm=figures(median=0.454)))
    code, out = digits.run("check")
    assert code == 1
    assert failures(out) == [
        "tfjs.yaml:6:23: models.digits.budgets.latency.wasm: median 0.454 ms is over the limit of 0.001 ms (+0.453 ms)"]
    digits.write_config(CONFIG.replace("0.001ms", "0.5ms"))
    code, out = digits.run("check")
    assert code == 0, out
    assert "latency wasm 91%" in out  # the Budgets column names the backend


def test_multiples_first_inference_and_memory(digits: Project) -> None:
    digits.write_config(CONFIG.replace("latency: {wasm: 0.001ms}", "latency: {webgl: 2x}\n"
                                       "      first_inference: {cpu: 100ms}\n      memory: 32KiB"))
    write_bench(digits.root / BENCH_NAME, record(cpu=figures(median=5.0, first=120.0, peak=30_000),
                                                 webgl=figures(median=9.0, peak=50_000, reference=3.0)))
    code, out = digits.run("check")
    assert code == 1
    assert failures(out) == [
        "tfjs.yaml:6:24: models.digits.budgets.latency.webgl: median 3x the reference workload is over the limit "
        "of 2x (+1x)",
        "tfjs.yaml:7:30: models.digits.budgets.first_inference.cpu: first inference 120 ms is over the limit of "
        "100 ms (+20 ms)",
        "tfjs.yaml:8:15: models.digits.budgets.memory: 50.0 kB peak memory (webgl) is over the limit of 32.8 kB "
        "(+17.2 kB)",
    ]


def test_a_budget_nobody_measured_fails_naming_the_command(digits: Project) -> None:
    code, out = digits.run("check")  # no tfjs.bench.json at all
    assert code == 1
    assert failures(out) == [
        f"tfjs.yaml:6:23: models.digits.budgets.latency.wasm: {BENCH_NAME} has no wasm figures for this model; "
        f"run `tfjs-build bench digits --backend wasm` and commit {BENCH_NAME}"]
    digits.write_config(CONFIG.replace("0.001ms", "12x"))
    write_bench(digits.root / BENCH_NAME, record(wasm=figures(median=0.454)))  # not calibrated
    code, out = digits.run("check")
    assert code == 1
    assert failures(out) == ["tfjs.yaml:6:23: models.digits.budgets.latency.wasm: a limit in x needs calibrated "
                             "figures; run `tfjs-build bench digits --backend wasm --calibrate`"]


def test_figures_of_another_build_are_judged_with_a_note(digits: Project) -> None:
    digits.write_config(CONFIG.replace("0.001ms", "1s"))
    stale = BenchRecord(MACHINE, {"digits": ModelBench("e" * 64, {"wasm": figures(median=0.454)})})
    write_bench(digits.root / BENCH_NAME, stale)
    code, out = digits.run("check", "--json")
    assert code == 0
    notes = json.loads(out)["models"][0]["notes"]
    assert notes == [f"digits: {BENCH_NAME} measured another build of this model; its timings stand until "
                     "`tfjs-build bench digits`"]


def test_a_garbled_record_is_a_user_error_naming_file_and_key(digits: Project) -> None:
    (digits.root / BENCH_NAME).write_text(json.dumps(
        {"version": 1, "machine": None, "models": {"digits": {"fingerprint": "f", "backends": {"wasm": {"runs": -1}}}}}))
    with pytest.raises(TfjsBuildError) as caught:  # the CLI prints it and exits 2
        digits.run("check")
    assert str(caught.value).startswith(f"{digits.root / BENCH_NAME}: not a valid {BENCH_NAME} (")
    assert "models.digits.backends.wasm" in str(caught.value)


# ---------------------------------------------------------------- reports


def test_reports_get_a_latency_column_and_kernel_tables(digits: Project) -> None:
    digits.write_config(CONFIG.replace("0.001ms", "1s"))
    write_bench(digits.root / BENCH_NAME, record(wasm=figures(median=0.454), webgl=figures(median=6.7)))
    code, markdown = digits.run("check", "--format", "markdown", "--html", "page.html")
    assert code == 0
    head = markdown.splitlines()[2]
    assert head == "| Model | Size | Transfer (gzip) | Brotli | Shards | Params | Max error | Latency (median) | " \
                   "Budgets | Status |"
    assert "| wasm 0.454 ms · webgl 6.7 ms | latency wasm 0.05% |" in markdown
    assert "<details><summary>digits: slowest kernels (tf.profile of one inference)</summary>" in markdown
    assert "| wasm | `FusedConv2D` | 2.5 ms | 2 | 62% |" in markdown
    page = (digits.root / "page.html").read_text()
    assert "<h3>Latency (tfjs.bench.json)</h3>" in page
    assert '<tr><td>webgl</td><td class="num">30 ms</td><td class="num">150 ms</td><td class="num">6.7 ms</td>' in page
    assert '<tr><td>wasm</td><td>Mean</td><td class="num">0.5 ms</td>' in page


def test_no_record_means_no_latency_column(digits: Project) -> None:
    digits.write_config(CONFIG.replace("    budgets:\n      latency: {wasm: 0.001ms}\n", ""))
    code, markdown = digits.run("check", "--format", "markdown")
    assert code == 0
    assert "Latency" not in markdown and "slowest kernels" not in markdown


# ---------------------------------------------------------------- --base: like machines only


def _commit(repo: git.Repo, message: str, when: str) -> None:
    actor = git.Actor("Test", "test@example.com")
    repo.index.add(["tfjs.yaml", "tfjs.lock", BENCH_NAME])
    repo.index.commit(message, author=actor, committer=actor, author_date=when, commit_date=when)


def _history(project: Project, base_machine: Machine) -> None:
    project.write_config(CONFIG.replace("0.001ms", "1s"))
    with git.Repo.init(project.root, initial_branch="main") as repo:
        write_bench(project.root / BENCH_NAME, BenchRecord(base_machine, {"digits": ModelBench(
            "f" * 64, {"wasm": figures(median=0.4), "webgl": figures(median=6.0)})}))
        _commit(repo, "base", "1704067200 +0000")
        write_bench(project.root / BENCH_NAME, record(wasm=figures(median=0.45), webgl=figures(median=6.0)))


def test_base_deltas_when_the_machine_matches(digits: Project) -> None:
    _history(digits, MACHINE)
    code, markdown = digits.run("check", "--base", "HEAD", "--format", "markdown")
    assert code == 0
    assert "| wasm 0.45 ms (+0.05 ms, +12.5%) · webgl 6 ms |" in markdown
    assert "not compared" not in markdown


def test_base_figures_from_another_machine_are_not_compared_and_the_report_says_why(digits: Project) -> None:
    _history(digits, replace(MACHINE, gl_renderer="ANGLE (NVIDIA GeForce RTX 3060)"))
    code, out = digits.run("diff", "--base", "HEAD", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["notes"] == ["latency on webgl not compared with HEAD (" + data["base_commit"] + "): GL renderer "
                             "differs (ANGLE (NVIDIA GeForce RTX 3060) there, ANGLE (SwiftShader) here); timings "
                             "compare only when measured on the same kind of machine"]
    (model,) = data["models"]
    assert sorted(model["base_bench"]["backends"]) == ["wasm"]  # node's figures still compare

    _history(digits, replace(MACHINE, cpu="AMD EPYC 7763 64-Core Processor"))
    code, markdown = digits.run("check", "--base", "HEAD", "--format", "markdown")
    assert "| wasm 0.45 ms · webgl 6 ms |" in markdown  # no deltas at all
    assert "latency on wasm, webgl not compared with HEAD (" in markdown
    assert "CPU differs (AMD EPYC 7763 64-Core Processor there, Intel(R) Xeon(R) Processor here)" in markdown
