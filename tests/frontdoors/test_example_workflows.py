"""examples/github/*.yml run as written under the simulated runner (gha_runner.py; whole workflows with needs
and matrices: gha_workflow.py, a stand-in for GitHub's scheduler), on a real git repository.

The runner image has tfjs-build[tensorflow] preinstalled and our action's ``install`` input is
forced to false (test_action.py tests the install step itself); every other step, input and
expression is the workflow's own. The GitHub API is the stand-in on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from action_env import REPO_ROOT, REPOSITORY, preinstalled_python, pull_request_event, runner_env
from built_project import Project
from gha_runner import CacheStandIn, Runner
from gha_workflow import WorkflowRun
from hidden_tensorflow import hide_tensorflow
from hook_repo import git
from no_tensorflow import poison_tensorflow
from projects import snapshot
from s3_server import running_moto

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


FANOUT_MODELS = {"digits": "format: graph", "digits-layers": "format: layers", "digits-u8": "quantize: uint8"}


def _fanout_repo(root: Path, endpoint: str) -> None:
    """Three real Keras models; the remote cache and the publish target are buckets of the S3-API server."""
    (root / "models").mkdir(parents=True)
    shutil.copy(DIGITS, root / "models" / "digits.keras")
    models = "".join(f"  {name}:\n    source: models/digits.keras\n    {keys}\n" for name, keys in FANOUT_MODELS.items())
    (root / "tfjs.yaml").write_text(f"""\
version: 1
models:
{models}cache:
  remote: s3://team-cache/tfjs
  endpoint_url: {endpoint}
  region: us-east-1
  addressing_style: path
  access_key_id_env: CACHE_KEY_ID
  secret_access_key_env: CACHE_SECRET
publish:
  cdn: {{type: s3, bucket: models-cdn, endpoint_url: "{endpoint}", region: us-east-1, addressing_style: path}}
""", encoding="utf-8")


def _developer_build(repo: Path, monkeypatch) -> tuple[dict[str, bytes], str]:
    """The developer's one-machine build (it reads the remote but fills nothing) and its commit, outputs ignored
    as .gitignore says: (tfjs.lock and the outputs, the commit)."""
    from tfjs_build.cli import main

    monkeypatch.setenv("TFJS_BUILD_CACHE_PUSH", "0")
    assert main(["-C", str(repo), "-q", "build"]) == 0
    monkeypatch.delenv("TFJS_BUILD_CACHE_PUSH")
    return snapshot(repo), commit(repo, "three models, tfjs.lock from a one-machine build")


def _machines(tmp_path: Path, github, poison: Path) -> Callable[[str], Runner]:
    """A fresh runner per job: TensorFlow only on the build jobs' machines (``poison`` on the others' path)."""
    secrets = {"CACHE_KEY_ID": "fanout-key", "CACHE_SECRET": "fanout-s3cr3t", "AWS_ACCESS_KEY_ID": "k",
               "AWS_SECRET_ACCESS_KEY": "s"}

    def machine(name: str) -> Runner:
        github.state.repo = REPOSITORY
        env = runner_env(preinstalled_python(tmp_path / "image-bin"),
                         tmp_path / "no-poison" if name.startswith("build") else poison, github.url)
        return Runner(tmp_path / "machines" / name, env, {"OWNER/tfjs-build": REPO_ROOT},
                      CacheStandIn(tmp_path / "actions-cache"), {"install": "false"}, secrets)

    return machine


@pytest.mark.slow
def test_fanout_workflow_plans_builds_each_shard_on_its_own_runner_and_assembles_a_one_machine_build(
        tmp_path, github, monkeypatch):
    """examples/github/fanout.yml as a whole workflow run (gha_workflow.py, a stand-in for GitHub's scheduler):
    the plan job's matrix starts one build job per shard, each on a machine of its own (own clone, own local
    cache, real conversions), sharing the remote cache (moto's S3 API on 127.0.0.1); the assemble job, with
    TensorFlow poisoned, restores every model, passes the workflow's own `git diff --exit-code -- tfjs.lock`,
    checks and publishes. Its tfjs.lock and outputs are the developer's one-machine build, byte for byte."""
    import boto3

    with running_moto() as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="k",
                          aws_secret_access_key="s")
        for bucket in ("team-cache", "models-cdn"):
            s3.create_bucket(Bucket=bucket)
        repo = tmp_path / "repo"
        _fanout_repo(repo, endpoint)
        one_machine, sha = _developer_build(repo, monkeypatch)
        poison = poison_tensorflow(tmp_path)
        workflow = WorkflowRun(EXAMPLES / "fanout.yml", _machines(tmp_path, github, poison.pythonpath), "push",
                               {"ref": "refs/heads/main"}, repo, sha)
        results = workflow.run()
        cached = {o["Key"] for o in s3.list_objects_v2(Bucket="team-cache").get("Contents", [])}
        published = {o["Key"] for o in s3.list_objects_v2(Bucket="models-cdn").get("Contents", [])}

    assert {job: r.result for job, r in results.items()} == {"plan": "success", "build": "success",
                                                             "assemble": "success"}, _logs(results)
    matrix = json.loads(results["plan"].outputs["matrix"])["include"]
    assert [row["shard"] for row in matrix] == ["1/4", "2/4", "3/4"]  # 3 models: one row per non-empty group
    builds = results["build"].runs
    assert [workflow.name("build", combination) for combination, _ in builds] == ["build 1/4", "build 2/4", "build 3/4"]
    built = [json.loads(next(s for s in job.steps if s.outputs.get("built")).outputs["built"]) for _, job in builds]
    assert built == [row["models"] for row in matrix]  # each runner converted its own group, nothing else
    assert len({job.workspace for _, job in builds}) == 3 and not poison.imported
    lock = json.loads(one_machine["tfjs.lock"])["models"]
    assert {f"tfjs/ac/{e['fingerprint']}" for e in lock.values()} <= cached  # every shard pushed its models
    [(_, assemble)] = results["assemble"].runs
    restored = next(s for s in assemble.steps if "restored" in s.outputs).outputs
    assert (json.loads(restored["built"]), sorted(json.loads(restored["restored"]))) == ([], sorted(FANOUT_MODELS))
    assert assemble.step("The committed tfjs.lock is the one the build wrote").outcome == "success"
    assert assemble.workspace is not None and snapshot(assemble.workspace) == one_machine
    assert {key.split("/")[0] for key in published} == set(FANOUT_MODELS)  # published on the push to main


def _logs(results) -> str:
    return "\n".join(f"--- {job} {combination}\n{run.log}" for job, r in results.items() for combination, run in r.runs)


STAND_IN_WORKFLOW = """\
jobs:
  plan:
    outputs: {matrix: "${{ steps.p.outputs.m }}"}
    steps:
      - id: p
        run: echo 'm={"include":[{"shard":"1/2"},{"shard":"2/2"}]}' >> "$GITHUB_OUTPUT"
  build:
    needs: plan
    if: fromJSON(needs.plan.outputs.matrix).include[1]
    strategy: {matrix: "${{ fromJSON(needs.plan.outputs.matrix) }}"}
    name: build ${{ matrix.shard }}
    steps:
      - run: echo "$SHARD" > here && test "$SHARD" != 2/2
        env: {SHARD: "${{ matrix.shard }}"}
  never:
    needs: plan
    if: fromJSON(needs.plan.outputs.matrix).include[2]
    steps: [{run: "false"}]
  after:
    needs: [build, never]
    if: ${{ !cancelled() && needs.build.result == 'failure' && needs.never.result == 'skipped' }}
    steps: [{run: "true"}]
  skipped-after-failure:
    needs: build
    steps: [{run: "true"}]
"""


def test_the_workflow_stand_in_orders_jobs_by_needs_and_runs_a_matrix_from_a_job_output(tmp_path):
    """gha_workflow.py itself, on a workflow of shell steps: a matrix from fromJSON of a needs output, each
    combination on its own machine, array indexing in an if:, a failed combination failing its job, a job
    skipped by its if:, and the implicit success() of a job whose need failed."""
    workflow = tmp_path / "wf.yml"
    workflow.write_text(STAND_IN_WORKFLOW, encoding="utf-8")
    env = runner_env(preinstalled_python(tmp_path / "image-bin"), tmp_path / "nothing", "http://127.0.0.1:9")
    cache = CacheStandIn(tmp_path / "actions-cache")
    run = WorkflowRun(workflow, lambda name: Runner(tmp_path / name, env, {}, cache), "push", {}, tmp_path, "0" * 40)
    results = run.run()
    assert {job: r.result for job, r in results.items()} == {
        "plan": "success", "build": "failure", "never": "skipped", "after": "success", "skipped-after-failure": "skipped"}
    assert [(combination, job.ok) for combination, job in results["build"].runs] == [({"shard": "1/2"}, True),
                                                                                     ({"shard": "2/2"}, False)]
    spaces = [job.workspace for _, job in results["build"].runs]
    assert [(w / "here").read_text().strip() for w in spaces if w] == ["1/2", "2/2"] and len(set(spaces)) == 2
    assert [run.name("build", c) for c, _ in results["build"].runs] == ["build 1/2", "build 2/2"]
