"""examples/github/*.yml run as written under the simulated runner (gha_runner.py), on a real git repository.

The runner image has tfjs-build[tensorflow] preinstalled and our action's ``install`` input is
forced to false (test_action.py tests the install step itself); every other step, input and
expression is the workflow's own. The GitHub API is the stand-in on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from action_env import REPO_ROOT, REPOSITORY, preinstalled_python, pull_request_event, runner_env
from built_project import Project
from gha_runner import CacheStandIn, Runner
from hidden_tensorflow import hide_tensorflow
from hook_repo import git
from no_tensorflow import poison_tensorflow

EXAMPLES = REPO_ROOT / "examples" / "github"
DIGITS = REPO_ROOT / "examples" / "quickstart" / "models" / "digits.keras"


def commit(root: Path, message: str) -> str:
    (root / ".gitignore").write_text(".tfjs-build/\ndist/\n")
    if not (root / ".git").exists():
        git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def make_runner(tmp: Path, github, pythonpath: Path) -> Runner:
    github.state.repo = REPOSITORY
    env = runner_env(preinstalled_python(tmp / "image-bin"), pythonpath, github.url)
    return Runner(tmp / "runner", env, {"OWNER/tfjs-build": REPO_ROOT}, CacheStandIn(tmp / "actions-cache"),
                  {"install": "false"})


def test_pr_check_workflow_comments_check_and_diff_against_the_base(tmp_path, github):
    project = Project(tmp_path / "repo")
    project.root.mkdir()
    project.write_config("  x:\n    type: http\n    url: http://127.0.0.1:9\n", models=("alpha",),
                         model_yaml="budgets: {size: 1MiB}")
    project.build("alpha")
    base = commit(project.root, "base")
    project.build("alpha", seed=1, shards=3)  # the PR changes the model
    head = commit(project.root, "change alpha")
    poison = poison_tensorflow(tmp_path)
    runner = make_runner(tmp_path, github, poison.pythonpath)

    job = runner.run_job(EXAMPLES / "pr-check.yml", "models", "pull_request",
                         pull_request_event(number=4, base_sha=base, head_sha=head), project.root, head)
    assert job.ok, job.log
    assert not poison.imported
    bodies = sorted(c["body"] for c in github.state.comments.values())
    assert [b.splitlines()[0] for b in bodies] == ["<!-- tfjs-build: check . -->", "<!-- tfjs-build: diff . -->"]
    check, diff = bodies
    assert "### tfjs-build check · `tfjs.yaml`: 1 model, all checks passed" in check
    assert "### tfjs-build diff · `tfjs.yaml`:" in diff and "| `alpha` |" in diff and "changed" in diff
    assert job.summary.count("### tfjs-build") == 3  # plan --check, check, diff


@pytest.mark.slow
def test_build_workflow_restores_from_the_kept_cache_and_publish_workflow_outputs_the_urls(tmp_path, github):
    """A real conversion (a small Keras model, layers format), once locally and once in the first CI run."""
    project = Project(tmp_path / "repo")
    (project.root / "models").mkdir(parents=True)
    shutil.copy(DIGITS, project.root / "models" / "digits.keras")
    (project.root / "tfjs.yaml").write_text("version: 1\nmodels:\n  digits:\n    source: models/digits.keras\n"
                                            "    format: layers\npublish:\n  release:\n    type: github\n")
    from tfjs_build.cli import main

    assert main(["-C", str(project.root), "-q", "build"]) == 0
    sha = commit(project.root, "models")
    runner = make_runner(tmp_path, github, tmp_path / "nothing")

    first = runner.run_job(EXAMPLES / "build-on-push.yml", "build", "push", {"ref": "refs/heads/main"}, project.root, sha)
    assert first.ok, first.log
    assert first.step("build").outputs["built"] == '["digits"]' and first.setup_python == ["3.11", "3.11"]
    assert (first.artifacts["tfjs-models"] / "digits" / "model.json").is_file()

    runner.env["PYTHONPATH"] = str(hide_tensorflow(tmp_path))  # from now on, TensorFlow is not installed
    second = runner.run_job(EXAMPLES / "build-on-push.yml", "build", "push", {"ref": "refs/heads/main"}, project.root, sha)
    assert second.ok, second.log
    assert (second.step("build").outputs["built"], second.step("build").outputs["restored"]) == ("[]", '["digits"]')

    tag = runner.run_job(EXAMPLES / "publish-on-tag.yml", "publish", "push", {"ref": "refs/tags/v1.0.0"},
                         project.root, sha, ref="refs/tags/v1.0.0")
    assert tag.ok, tag.log
    published = json.loads(tag.step("publish").outputs["published"])
    digest = published["digits"]["digest"]
    assert published["digits"]["url"].endswith(f"/releases/tag/digits-{digest}")  # a release: its page
    assert f"github:{REPOSITORY}@digits-{digest}/model.json" in published["digits"]["files"]
    [release] = github.state.releases.values()
    assert release["tag_name"] == f"digits-{digest}" and not release["draft"]
    assert f"- digits: {published['digits']['url']}" in tag.summary
