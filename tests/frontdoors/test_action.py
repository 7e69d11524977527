"""The GitHub Action: action.yml's shape, and action/main.py run as the runner runs it.

The runner is played by files ($GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY, $GITHUB_EVENT_PATH)
and the GitHub API by the local stand-in (tests/publish/github_standin.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from github_standin import TOKEN
from no_tensorflow import poison_tensorflow

REPO_ROOT = Path(__file__).resolve().parents[2]

MARKER = "<!-- tfjs-build -->"


def test_action_yml_is_a_composite_action_whose_steps_use_only_declared_inputs():
    action = yaml.safe_load((REPO_ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert {"name", "description", "inputs", "outputs"} <= set(action)
    used = set(re.findall(r"\binputs\.([\w-]+)", json.dumps(action["runs"])))
    assert used == set(action["inputs"]), "every input is used, and only declared inputs are"
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], "inputs reach scripts through env:, never pasted into shell code"
    run_step = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    assert "$GITHUB_ACTION_PATH/action/main.py" in run_step["run"]
    for name, output in action["outputs"].items():
        assert output["value"] == f"${{{{ steps.run.outputs.{name} }}}}"


class Runner:
    """Plays the Actions runner: the files it provides, and running the step in the workspace."""

    def __init__(self, tmp: Path, project_root: Path, github_url: str) -> None:
        self.output, self.summary, self.event = tmp / "output.txt", tmp / "summary.md", tmp / "event.json"
        self.workspace = project_root
        pythonpath, self.tensorflow_mark = poison_tensorflow(tmp)
        self.env = {**os.environ, "PYTHONPATH": str(pythonpath), "GITHUB_OUTPUT": str(self.output), "GITHUB_STEP_SUMMARY": str(self.summary),
                    "GITHUB_EVENT_PATH": str(self.event), "GITHUB_REPOSITORY": "octo/models",
                    "GITHUB_API_URL": github_url, "GITHUB_TOKEN": TOKEN, "TFJS_BUILD_COMMENT": "true"}
        self.pull_request(7)

    def pull_request(self, number: int | None) -> None:
        event = {"pull_request": {"number": number, "base": {"ref": "main"}}} if number else {"ref": "refs/heads/main"}
        self.event.write_text(json.dumps(event))

    def run(self, **inputs: str) -> subprocess.CompletedProcess:
        env = {**self.env, **{f"TFJS_BUILD_{k.upper()}": v for k, v in inputs.items()}}
        result = subprocess.run([sys.executable, str(REPO_ROOT / "action" / "main.py")], cwd=self.workspace,
                                env=env, capture_output=True, text=True, timeout=120)
        assert not self.tensorflow_mark.exists(), "the action imported tensorflow"
        return result

    def outputs(self) -> dict[str, str]:
        """Parse $GITHUB_OUTPUT's ``name<<DELIM ... DELIM`` blocks (the last value of a name wins)."""
        found, lines = {}, self.output.read_text().splitlines()
        i = 0
        while i < len(lines):
            name, delimiter = lines[i].split("<<", 1)
            end = lines.index(delimiter, i + 1)
            found[name] = "\n".join(lines[i + 1:end])
            i = end + 1
        return found


def budget_project(project, size: str) -> None:
    project.write_config("  x:\n    type: http\n    url: http://127.0.0.1:9\n", models=("alpha",),
                         model_yaml=f"budgets: {{size: {size}}}")
    project.build("alpha")


def test_a_failing_check_sets_outputs_summary_annotations_and_one_sticky_comment(project, github, tmp_path):
    budget_project(project, "1KiB")
    runner = Runner(tmp_path, project.root, github.url)

    result = runner.run(command="check")
    assert result.returncode == 1, result.stderr
    outputs = runner.outputs()
    assert outputs["exit-code"] == "1"
    assert outputs["report"].startswith("### tfjs-build check: 1 model, 1 failed")
    assert "| `alpha` |" in outputs["report"]
    assert outputs["report"] in runner.summary.read_text()
    assert ("::error file=tfjs.yaml,line=5,col=21,title=tfjs-build check::models.alpha.budgets.size: "
            "2.3 kB is over the limit of 1.0 kB") in result.stdout
    comments = list(github.state.comments.values())
    assert len(comments) == 1 and comments[0]["issue"] == 7
    assert comments[0]["body"].startswith(MARKER) and "1 failed" in comments[0]["body"]

    budget_project(project, "1MiB")
    result = runner.run(command="check")
    assert result.returncode == 0, result.stderr
    assert runner.outputs()["exit-code"] == "0"
    comments = list(github.state.comments.values())
    assert len(comments) == 1, "the sticky comment is edited, not posted again"
    assert "1 failed" not in comments[0]["body"] and "| `alpha` |" in comments[0]["body"]
    assert [m for m, p in github.state.log if "/comments" in p] == ["GET", "POST", "GET", "PATCH"]


def test_a_fork_pr_read_only_token_degrades_to_the_summary_and_keeps_the_check_result(project, github, tmp_path):
    budget_project(project, "1MiB")
    github.state.read_only = True
    runner = Runner(tmp_path, project.root, github.url)
    result = runner.run(command="check")
    assert result.returncode == 0
    assert "::warning title=tfjs-build::could not comment on the pull request" in result.stdout
    assert "HTTP 403" in result.stdout and TOKEN not in result.stdout + result.stderr
    summary = runner.summary.read_text()
    assert summary.startswith("### tfjs-build check: 1 model") and "fork's pull request" in summary
    assert github.state.comments == {}


def test_outside_a_pull_request_nothing_is_commented(project, github, tmp_path):
    budget_project(project, "1MiB")
    runner = Runner(tmp_path, project.root, github.url)
    runner.pull_request(None)
    assert runner.run(command="check").returncode == 0
    assert github.state.log == []
    project.write_config("  x:\n    type: http\n    url: http://127.0.0.1:9\n", models=("alpha",),
                         model_yaml="quantize: uint8")  # alpha is now stale
    assert runner.run(command="plan", args="--json").returncode == 0
    assert json.loads(runner.outputs()["stdout"]) == {"include": [{"model": "alpha", "reasons": "config changed: quantize"}]}


def test_other_commands_report_their_output_and_user_errors_become_annotations(project, github, tmp_path):
    budget_project(project, "1MiB")
    runner = Runner(tmp_path, project.root, github.url)
    result = runner.run(command="publish", args="x alpha --dry-run", comment="false")
    assert result.returncode == 0
    report = runner.outputs()["report"]
    assert report.startswith("### tfjs-build publish: ok\n\n```\nx: alpha ")
    assert "would upload http://127.0.0.1:9/alpha/" in report
    assert runner.outputs()["stdout"] == result.stdout.rstrip("\n")

    (project.root / "tfjs.yaml").write_text("version: 1\nmodels:\n  alpha:\n    sorce: model.keras\n")
    result = runner.run(command="check", comment="false")
    assert result.returncode == 2
    assert runner.outputs()["report"].startswith("### tfjs-build check: failed (exit code 2)")
    assert "::error file=tfjs.yaml,line=4,col=5,title=tfjs-build check::models.alpha.sorce: unknown key" in result.stdout
    assert github.state.log == []
