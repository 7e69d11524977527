"""The GitHub Action as a runner runs it: action.yml's wiring, then its composite steps under the simulated runner.

The runner is the stand-in of gha_runner.py (expressions, ``if:``, bash steps, the runner's
files), the GitHub API the stand-in of tests/publish/github_standin.py on 127.0.0.1, and the
event the real ``pull_request`` payload in pull_request_synchronize.json. Except in the
install test, the runner image has tfjs-build preinstalled and ``install: false`` is forced
(installing TensorFlow per test would take minutes); the install step has its own test.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from action_env import (
    PEP668_MESSAGE,
    REPO_ROOT,
    REPOSITORY,
    externally_managed_python,
    preinstalled_python,
    pull_request_event,
    runner_env,
)
from gha_runner import CacheStandIn, Job, Runner
from hook_repo import git
from no_tensorflow import poison_tensorflow

ACTION = yaml.safe_load((REPO_ROOT / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
PUBLISH = "  x:\n    type: http\n    url: http://127.0.0.1:9\n"


# ---------------------------------------------------------------- action.yml's wiring


def script_of(step: dict) -> Path | None:
    found = re.search(r"\$GITHUB_ACTION_PATH/(action/\w+\.py)", step.get("run", ""))
    return REPO_ROOT / found.group(1) if found else None


def outputs_of(step: dict) -> set[str]:
    """What a step can set: ``set_output("NAME"`` calls of its script, or a marketplace action's outputs."""
    if step.get("uses", "").startswith("actions/cache@"):
        return {"cache-hit"}
    script = script_of(step)
    return set(re.findall(r'set_output\("([\w-]+)"', script.read_text())) if script else set()


def test_every_expression_in_action_yml_resolves_to_a_declared_input_or_an_earlier_steps_output():
    steps, seen = ACTION["runs"]["steps"], {}
    for step in steps:
        for expression in EXPRESSION.findall(json.dumps(step)) + ([step["if"]] if "if" in step else []):
            for name in re.findall(r"\binputs\.([\w-]+)", expression):
                assert name in ACTION["inputs"], f"{step['name']}: inputs.{name} is not declared"
            for step_id, output in re.findall(r"\bsteps\.([\w-]+)\.outputs\.([\w-]+)", expression):
                assert output in seen.get(step_id, ()), f"{step['name']}: steps.{step_id}.outputs.{output}: no earlier step"
        if "run" in step:
            assert step["shell"] == "bash" and "${{" not in step["run"], "inputs reach scripts through env:, not pasted code"
            script = script_of(step)
            read = set(re.findall(r'"(TFJS_BUILD_[A-Z_]+)"', script.read_text())) if script else set()
            assert read <= set(step.get("env", {})), f"{step['name']}: {script} reads {read - set(step.get('env', {}))}"
        if "id" in step:
            seen[step["id"]] = outputs_of(step)
    used = set(re.findall(r"\binputs\.([\w-]+)", json.dumps(ACTION["runs"])))
    assert used == set(ACTION["inputs"]), "every input is used"
    for name, output in ACTION["outputs"].items():
        step_id, value = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", output["value"]).groups()
        assert value in seen[step_id], f"output {name}: steps.{step_id}.outputs.{value} is never set"


def test_action_and_example_workflows_match_githubs_json_schemas():
    """check-jsonschema's vendored copies of SchemaStore's github-action and github-workflow schemas (offline)."""
    for schema, files in (("vendor.github-actions", [REPO_ROOT / "action.yml"]),
                          ("vendor.github-workflows", sorted((REPO_ROOT / "examples" / "github").glob("*.yml")))):
        assert files
        result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("command", "extras", "expected"), [
    ("check", "", ""), ("publish", "s3", "s3"), ("build", "", "tensorflow"), ("verify", "s3, tensorflow", "s3,tensorflow"),
])
def test_prepare_installs_tensorflow_only_for_the_commands_that_convert(tmp_path, command, extras, expected):
    output = tmp_path / "output"
    env = {"GITHUB_ACTION_PATH": str(REPO_ROOT), "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(tmp_path),
           "RUNNER_OS": "Linux", "TFJS_BUILD_COMMAND": command, "TFJS_BUILD_EXTRAS": extras, "TFJS_BUILD_INSTALL": "true",
           "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, str(REPO_ROOT / "action" / "prepare.py")], env=env, check=True, timeout=60)
    from gha_runner import read_outputs

    got = read_outputs(output)
    assert got["extras"] == expected
    assert got["spec"] == (f"{REPO_ROOT}[{expected}]" if expected else str(REPO_ROOT))
    assert got["python"] == f"{got['venv']}/bin/python" and got["venv"].startswith(str(tmp_path))
    assert got["venv-key"].startswith(got["venv-restore-key"]) and "-0.1.0-" in got["venv-key"]


# ---------------------------------------------------------------- the composite steps under the simulated runner


class ActionRun:
    """A repository holding a project, and one-step workflows that use the action on it."""

    def __init__(self, tmp: Path, project, github, image: str = "preinstalled") -> None:
        self.tmp, self.project, self.github = tmp, project, github
        github.state.repo = REPOSITORY
        poison = poison_tensorflow(tmp)
        self.tensorflow_mark = poison.mark
        python = (preinstalled_python if image == "preinstalled" else externally_managed_python)(tmp / "image-bin")
        overrides = {"install": "false"} if image == "preinstalled" else {}
        self.runner = Runner(tmp / "runner", runner_env(python, poison.pythonpath, github.url),
                             {"OWNER/tfjs-build": REPO_ROOT}, CacheStandIn(tmp / "actions-cache"), overrides)

    def commit(self, message: str = "models") -> str:
        root = self.project.root
        (root / ".gitignore").write_text(".tfjs-build/\n")
        if not (root / ".git").exists():
            git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "--allow-empty", "-m", message)
        return git(root, "rev-parse", "HEAD").strip()

    def run(self, event: dict | None = None, **inputs: str) -> Job:
        sha = self.commit()
        workflow = self.tmp / "workflow.yml"
        step = {"id": "tfjs", "uses": "OWNER/tfjs-build@v1", "with": {k.replace("_", "-"): v for k, v in inputs.items()}}
        workflow.write_text(yaml.safe_dump({"on": "pull_request", "jobs": {"j": {"runs-on": "ubuntu-latest", "steps": [
            {"uses": "actions/checkout@v4", "with": {"fetch-depth": 0}}, step]}}}))
        job = self.runner.run_job(workflow, "j", "pull_request" if event else "push", event or {"ref": "refs/heads/main"},
                                  self.project.root, sha)
        assert not self.tensorflow_mark.exists(), "the action imported tensorflow"
        return job

    def comments(self) -> list[dict]:
        return list(self.github.state.comments.values())


def budget_project(project, size: str, models=("alpha",)) -> None:
    project.write_config(PUBLISH, models=models, model_yaml=f"budgets: {{size: {size}}}")
    for model in models:
        project.build(model)


def test_a_pr_check_reports_everywhere_and_keeps_one_comment_per_command_and_folder(project, github, tmp_path):
    budget_project(project, "1KiB")
    action = ActionRun(tmp_path, project, github)
    event = pull_request_event(number=7)

    job = action.run(event, command="check")
    run = job.step("run")
    assert run.outcome == "failure" and run.outputs["exit-code"] == "1"
    report = run.outputs["report"]
    assert report.startswith("### tfjs-build check · `tfjs.yaml`: 1 model, 1 failed") and "| `alpha` |" in report
    assert report in job.summary
    assert ("::error file=tfjs.yaml,line=5,col=21,title=tfjs-build check::models.alpha.budgets.size: "
            "2.3 kB is over the limit of 1.0 kB") in run.log
    [comment] = action.comments()
    assert comment["issue"] == 7 and comment["body"].startswith("<!-- tfjs-build: check . -->\n### tfjs-build check · ")

    github.state.log.clear()
    assert "unchanged the report comment on #7" in action.run(event, command="check").step("run").log
    assert [m for m, p in github.state.log if "/comments" in p] == ["GET"], "an unchanged report is not PATCHed"

    budget_project(project, "1MiB")
    job = action.run(event, command="check")
    assert job.ok and "updated the report comment on #7" in job.step("run").log
    [comment] = action.comments()
    assert "1 failed" not in comment["body"] and "| `alpha` |" in comment["body"]

    project.write_config(PUBLISH, models=("alpha",), model_yaml="quantize: uint8")  # alpha is now stale
    job = action.run(event, command="plan", args="--json")
    matrix = {"include": [{"model": "alpha", "reasons": "config changed: quantize"}]}
    assert json.loads(job.step("run").outputs["stdout"]) == matrix
    action.run(event, command="check", comment_id="nightly")
    keys = sorted(c["body"].splitlines()[0] for c in action.comments())
    assert keys == ["<!-- tfjs-build: check . -->", "<!-- tfjs-build: check . nightly -->", "<!-- tfjs-build: plan . -->"]


def test_a_second_project_in_the_same_repository_gets_its_own_comment_titled_with_it(project, github, tmp_path):
    budget_project(project, "1MiB")
    other = type(project)(project.root / "sub")
    other.root.mkdir()
    budget_project(other, "1MiB")
    action = ActionRun(tmp_path, project, github)
    event = pull_request_event(number=3)
    assert action.run(event, command="check").ok
    assert action.run(event, command="check", working_directory="sub").ok
    titles = sorted(c["body"].splitlines()[1].split(":")[0] for c in action.comments())
    assert titles == ["### tfjs-build check · `sub/tfjs.yaml`", "### tfjs-build check · `tfjs.yaml`"]


def test_a_fork_pr_read_only_token_degrades_to_the_summary_and_keeps_the_check_result(project, github, tmp_path):
    budget_project(project, "1MiB")
    github.state.read_only = True
    action = ActionRun(tmp_path, project, github)
    job = action.run(pull_request_event(number=5, fork=True), command="check")
    assert job.ok
    log = job.step("run").log
    assert "::warning title=tfjs-build::could not comment on the pull request" in log and "HTTP 403" in log
    assert "ghs_" not in log + job.summary
    assert job.summary.startswith("### tfjs-build check · `tfjs.yaml`: 1 model") and "fork's pull request" in job.summary
    assert github.state.comments == {}


def test_publish_outputs_every_models_digest_and_urls_and_user_errors_become_annotations(project, github, tmp_path):
    budget_project(project, "1MiB", models=("alpha", "beta"))
    action = ActionRun(tmp_path, project, github)
    job = action.run(command="publish", args="x --dry-run")
    assert job.ok and github.state.log == []
    published = json.loads(job.step("run").outputs["published"])
    assert sorted(published) == ["alpha", "beta"]
    digest = published["alpha"]["digest"]
    assert published["alpha"]["url"] == f"http://127.0.0.1:9/alpha/{digest}/model.json"
    assert f"http://127.0.0.1:9/alpha/{digest}/group1-shard1of2.bin" in published["alpha"]["files"]
    assert f"alpha {digest} -> http://127.0.0.1:9/alpha/{digest}/model.json" in job.step("run").outputs["report"]

    (project.root / "tfjs.yaml").write_text("version: 1\nmodels:\n  alpha:\n    sorce: model.keras\n")
    job = action.run(command="check", comment="false")
    run = job.step("run")
    assert run.outputs["exit-code"] == "2" and not job.ok
    assert run.outputs["report"].startswith("### tfjs-build check · `tfjs.yaml`: failed (exit code 2)")
    assert "::error file=tfjs.yaml,line=4,col=5,title=tfjs-build check::models.alpha.sorce: unknown key" in run.log


@pytest.mark.slow
def test_the_install_step_makes_a_venv_of_its_own_on_an_externally_managed_python_and_caches_it(project, github, tmp_path):
    """Real pip from PyPI (the light core only); the system python3 refuses pip like a PEP 668 one (a stand-in)."""
    budget_project(project, "1MiB")
    action = ActionRun(tmp_path, project, github, image="pep668")
    assert PEP668_MESSAGE in subprocess.run([str(tmp_path / "image-bin" / "python3"), "-m", "pip", "install", "x"],
                                            capture_output=True, text=True).stderr
    job = action.run(command="check", comment="false")
    assert job.ok, job.log
    venv = Path(job.step("prep").outputs["venv"])
    assert not list(venv.glob("lib/python*/site-packages/tensorflow")), "check installs the light core only"
    assert list(venv.glob("lib/python*/site-packages/tfjs_build"))
    assert job.step("Restore the tfjs-build virtualenv and pip downloads").outputs["cache-hit"] == "false"
    assert action.runner.cache.saved == [job.step("prep").outputs["venv-key"]]

    job = action.run(command="check", comment="false")  # the next job: RUNNER_TEMP is empty again
    assert job.ok, job.log
    assert job.step("Restore the tfjs-build virtualenv and pip downloads").outputs["cache-hit"] == "true"
