"""`bench` on hand-written TF.js models (the publish tests' hand-made built project, no converter):
the GitHub Action puts its latency table in the job summary and the sticky PR comment, and a model
TF.js cannot run on one backend does not cost the figures of the others.

The Action runs under the front-door tests' runner stand-in with their GitHub API stand-in; real
TF.js times the models on cpu and wasm.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "frontdoors"), str(TESTS / "publish")]

from action_env import pull_request_event  # noqa: E402
from built_project import Project  # noqa: E402
from cli_process import run_cli  # noqa: E402
from github_standin import StandIn  # noqa: E402
from test_action import ActionRun  # noqa: E402

from .handmade import dense_graph_model, regex_graph_model, where_graph_model  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.node]


@pytest.fixture
def github() -> Iterator[StandIn]:
    server = StandIn()
    yield server
    server.stop()


def test_the_action_puts_the_latency_table_in_the_summary_and_the_comment(tmp_path: Path, github: StandIn,
                                                                          tfjs_available: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    project = Project(root)
    project.write_config("  {}\n", models=("alpha",))
    rng = np.random.default_rng(3)
    model = dense_graph_model(tmp_path / "dense", rng.standard_normal((3, 2)).astype(np.float32),
                              rng.standard_normal(2).astype(np.float32))
    project.build_files("alpha", {path.name: path.read_bytes() for path in model.iterdir()})

    action = ActionRun(tmp_path, project, github)
    job = action.run(pull_request_event(number=7), command="bench", args="--backend cpu,wasm --runs 3 --warmup 1")
    run = job.step("run")
    assert run.outputs["exit-code"] == "0", run.log
    report = run.outputs["report"]
    assert report.startswith("### tfjs-build bench · `tfjs.yaml`: 1 model\n"), report
    assert "| `alpha` | cpu |" in report and "| `alpha` | wasm |" in report
    assert "<details><summary>alpha: slowest kernels" in report
    assert "```" not in report, "progress lines stay out of the comment"
    assert report in job.summary
    [comment] = action.comments()
    assert comment["issue"] == 7 and comment["body"].startswith("<!-- tfjs-build: bench . -->\n### tfjs-build bench · ")


def test_a_backend_tfjs_cannot_run_fails_alone_and_the_rest_is_recorded(tmp_path: Path, tfjs_available: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    project = Project(root)
    project.write_config("  {}\n", models=("strings", "dynamic"))
    for name, model in (("strings", regex_graph_model(tmp_path / "s", pattern="a+", rewrite="<>")),
                        ("dynamic", where_graph_model(tmp_path / "d"))):
        project.build_files(name, {path.name: path.read_bytes() for path in model.iterdir()})
    done = run_cli("--no-color", "-C", str(root), "bench", "--backend", "cpu,wasm", "--runs", "3", "--warmup", "0",
                   timeout=600)
    assert done.returncode == 2, done.stdout + done.stderr
    [error] = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert "tfjs.yaml:3:3: models.strings.backends: " in error
    assert "failed to execute the model: Kernel 'StaticRegexReplace' not registered for backend 'wasm'" in error
    assert error.endswith("leave wasm out of backends (or of --backend)")
    record = json.loads((root / "tfjs.bench.json").read_text())
    assert sorted(record["models"]["strings"]["backends"]) == ["cpu"]
    dynamic = record["models"]["dynamic"]["backends"]
    assert sorted(dynamic) == ["cpu", "wasm"]
    assert {figures["mode"] for figures in dynamic.values()} == {"executeAsync"}  # Where needs it
