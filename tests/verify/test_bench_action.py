"""The GitHub Action runs `bench`: its latency table lands in the job summary and the sticky PR comment.

Runs the composite action under the front-door tests' runner stand-in (their GitHub API stand-in,
their hand-made built project), with a hand-written TF.js model that real TF.js times on cpu and wasm.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "frontdoors"), str(TESTS / "publish")]

from action_env import pull_request_event  # noqa: E402
from built_project import Project  # noqa: E402
from github_standin import StandIn  # noqa: E402
from test_action import ActionRun  # noqa: E402

from .handmade import dense_graph_model  # noqa: E402

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
