"""`diff --base REF` and `check --base REF` against a real git repository with two commits."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import git
import pytest
from projects import Project, entry

from tfjs_build.engine.lock_at_ref import BaseLock
from tfjs_build.engine.lockfile import Lock
from tfjs_build.errors import TfjsBuildError
from tfjs_build.report.by_layer import layer_changes
from tfjs_build.report.compare import diff_locks
from tfjs_build.report.markdown import render_markdown

SNAPSHOTS = Path(__file__).parent / "snapshots"
W_BEFORE = (("conv1/kernel", "float32", 100_000), ("conv1/bias", "float32", 400), ("head/kernel", "uint8", 300_000),
            ("gone/kernel", "float32", 8_000))
W_AFTER = (("conv1/kernel", "float32", 100_000), ("conv1/bias", "float32", 400), ("head/kernel", "uint8", 420_000),
           ("extra/kernel", "float32", 12_000))
ACCURACY = {"max_abs_error": 0.004, "max_rel_error": 0.02, "top1_agreement": 1.0, "samples": 8}
BEFORE = {
    "mobilenet": entry(size=3_400_000, transfer=3_100_000, params=850_000, accuracy=ACCURACY, weights=W_BEFORE),
    "posenet": entry(size=1_000_000, transfer=900_000, params=250_000),
    "old-model": entry(size=2_000_000, transfer=1_800_000, params=500_000),
}
AFTER = {
    "mobilenet": entry(size=3_520_000, transfer=3_200_000, shards=2, params=880_000,
                       accuracy={**ACCURACY, "max_abs_error": 0.006}, weights=W_AFTER),
    "posenet": entry(size=1_000_000, transfer=900_000, params=250_000),
    "new-model": entry(size=640_000, transfer=600_000, params=160_000),
}
CONFIG = """\
version: 1
models:
  mobilenet:
    source: models/mobilenet
    budgets:
      size: 4MB
  posenet:
    source: models/posenet
  new-model:
    source: models/new-model
"""


def _commit(repo: git.Repo, message: str, paths: list[str], when: str) -> None:
    """A commit with a fixed author and date, so its sha (shown in reports) is the same every run."""
    actor = git.Actor("Test", "test@example.com")
    repo.index.add(paths)
    repo.index.commit(message, author=actor, committer=actor, author_date=when, commit_date=when)


@pytest.fixture
def history(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """Commit 1: three models. Commit 2: mobilenet grew, new-model added, old-model removed."""
    monkeypatch.chdir(project.root)
    for name in ("mobilenet", "posenet", "new-model"):
        project.source(name)
    project.write_config(CONFIG)
    with git.Repo.init(project.root, initial_branch="main") as repo:
        project.write_lock(BEFORE)
        _commit(repo, "three models", ["tfjs.yaml", "tfjs.lock"], "1704067200 +0000")
        project.write_lock(AFTER)
        _commit(repo, "grow mobilenet, add new-model, drop old-model", ["tfjs.lock"], "1704153600 +0000")
    return project


def test_diff_shows_grown_added_and_removed_models(history: Project) -> None:
    code, out = history.run("diff", "--base", "HEAD~1", "--json")
    data = json.loads(out)
    assert code == 0
    rows = {m["name"]: m for m in data["models"]}
    assert sorted(rows) == ["mobilenet", "new-model", "old-model", "posenet"]
    assert rows["mobilenet"]["base"]["size"] == 3_400_000 and rows["mobilenet"]["figures"]["size"] == 3_520_000
    assert rows["new-model"]["base"] is None
    assert rows["old-model"]["figures"] is None and rows["old-model"]["base"]["size"] == 2_000_000
    assert rows["posenet"]["base"] == rows["posenet"]["figures"]


def test_diff_table_reads_deltas(history: Project) -> None:
    code, out = history.run("diff", "--base", "HEAD~1")
    lines = {line.split()[0]: line for line in out.splitlines()[1:5]}
    assert "3.5 MB (+120 kB, +3.5%)" in lines["mobilenet"]
    assert "880,000 (+30,000, +3.5%)" in lines["mobilenet"]
    assert "0.006 (was 0.004)" in lines["mobilenet"]
    assert lines["mobilenet"].endswith("changed")
    assert "640.0 kB (new)" in lines["new-model"] and lines["new-model"].endswith("added")
    assert "– (was 2.0 MB)" in lines["old-model"] and lines["old-model"].endswith("removed")
    assert lines["posenet"].endswith("same")


def test_diff_against_head_of_an_unchanged_tree_is_all_same(history: Project) -> None:
    code, out = history.run("diff", "--json")
    assert code == 0
    assert {m["name"]: m["base"] == m["figures"] for m in json.loads(out)["models"]} == {
        "mobilenet": True, "new-model": True, "posenet": True}


def test_check_base_markdown_matches_snapshot(history: Project) -> None:
    code, out = history.run("check", "--base", "HEAD~1", "--format", "markdown")
    assert code == 0
    with git.Repo(history.root) as repo:  # its sha follows the lock's bytes, which any new lock field changes
        base = repo.commit("HEAD~1").hexsha[:7]
    assert out.replace(f"({base})", "(BASE)", 1) == (SNAPSHOTS / "check_base.md").read_text(encoding="utf-8")


def test_layer_changes_name_what_grew_and_what_went(history: Project) -> None:
    code, out = history.run("diff", "--base", "HEAD~1", "--json")
    mobilenet = json.loads(out)["models"][0]
    assert [w[0] for w in mobilenet["base_weights"]] == [w[0] for w in W_BEFORE]
    assert layer_changes(W_AFTER, W_BEFORE) == [("head", 300_000, 420_000), ("extra", 0, 12_000), ("gone", 8_000, 0)]


def test_unknown_ref_is_a_user_error(history: Project) -> None:
    with pytest.raises(TfjsBuildError, match=r"--base no-such-branch: no such branch, tag or commit .*git fetch"):
        history.run("diff", "--base", "no-such-branch")


def test_ref_without_a_lock_counts_every_model_as_added(history: Project) -> None:
    with git.Repo(history.root) as repo:
        _commit(repo, "unrelated", ["tfjs.yaml"], "1704240000 +0000")
        repo.index.remove(["tfjs.lock"])
        _commit(repo, "lock removed", [], "1704326400 +0000")
    code, out = history.run("diff", "--base", "HEAD", "--json")
    data = json.loads(out)
    assert [m["base"] for m in data["models"]] == [None, None, None]
    assert data["notes"][0].startswith("no tfjs.lock at HEAD (")


def test_outside_git_is_a_user_error(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(project.root.parent))
    project.write_models("a")
    with pytest.raises(TfjsBuildError, match="not inside a git repository"):
        project.run("diff", "--base", "main")


def test_markdown_stays_within_a_pr_comment(history: Project) -> None:
    """Hundreds of changed layers in many models: layer tables are dropped before the comment limit."""
    many = tuple((f"encoder/block{i:03d}/{'attention' * 10}/kernel", "float32", 1000 + i) for i in range(300))
    grown = tuple((name, dtype, nbytes * 2) for name, dtype, nbytes in many)
    base = {f"m{i:02d}": entry(weights=many) for i in range(60)}
    current = Lock({name: replace(e, weights=grown, size=e.size * 2) for name, e in base.items()})
    text = render_markdown(diff_locks(current, BaseLock("main", "abc1234", Lock(base), True)))
    assert len(text) <= 65_536
    assert text.count("<details><summary>m") > 10
    assert "more models left out to fit a PR comment._" in text
