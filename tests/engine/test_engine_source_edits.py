"""A source edited while its model converts: the output is discarded, never locked under the old fingerprint.

The stand-in converter edits the source itself (STAND_IN_EDIT) before reading it, so the
race a user hits by saving a file mid-build is reproduced deterministically, without timing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest
from projects import DATA_FILE, age, copy_project, snapshot
from stand_in_runs import run_build

from tfjs_build.config import load_config
from tfjs_build.engine import fingerprint
from tfjs_build.engine.build import BuildSummary
from tfjs_build.engine.local_cache import LocalCache
from tfjs_build.engine.plan import Step, current_plan
from tfjs_build.errors import EXIT_USER_ERROR

FILE_MODEL = "  gamma:\n    source: models/gamma.pb\n    outputs: [y]\n"


@pytest.fixture
def file_project(project: Path) -> Path:
    """The two-SavedModel project plus gamma, a model whose source is one file."""
    (project / "models/gamma.pb").write_bytes(os.urandom(30_000))
    with open(project / "tfjs.yaml", "a", encoding="utf-8") as config:
        config.write(FILE_MODEL)
    age(project)
    return project


def plan_of(root: Path, model: str) -> Step:
    [step] = current_plan(load_config(root / "tfjs.yaml"), names=[model])
    return step


def locked(root: Path) -> dict:
    return json.loads((root / "tfjs.lock").read_text())["models"]


def build_editing(root: Path, monkeypatch: pytest.MonkeyPatch, model: str, how: str) -> BuildSummary:
    """A build whose stand-in changes ``model``'s source (``how``) while converting it."""
    monkeypatch.setenv("STAND_IN_EDIT", f"{model}:{how}")
    try:
        return run_build(root)
    finally:
        monkeypatch.delenv("STAND_IN_EDIT")


def assert_discarded(root: Path, summary: BuildSummary, model: str, changed: str, planned: str) -> None:
    """The model failed as a user error naming the changed file, and nothing of its output was kept."""
    message = (f"its source changed while it was being converted ({changed}); "
               "the output was discarded and tfjs.lock not updated; run the build again")
    assert summary.failed == [(model, message, EXIT_USER_ERROR)]
    assert model not in summary.built
    assert not LocalCache(root / ".tfjs-build/cache").has_entry(planned)
    assert not list((root / "dist/tfjs").glob(".*"))  # the discarded temp folder is gone too


def assert_built_right(root: Path, clean: Path) -> None:
    """Outputs and lock are what a clean build of the same sources in another folder gives."""
    assert all(step.fresh for step in current_plan(load_config(root / "tfjs.yaml")))
    other = copy_project(root, clean)
    assert not run_build(other).failed
    assert snapshot(root) == snapshot(other)


@pytest.mark.parametrize("how", ["rewrite", "revert"])
def test_file_source_rewritten_in_place_is_not_locked(
    file_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Same size, same inode, mtime put back (and for revert, the same bytes again): only ctime tells."""
    run_build(file_project)
    source = file_project / "models/gamma.pb"
    source.write_bytes(os.urandom(30_000))  # gamma is stale, with its old entry still in the lock
    age(source)
    planned, before = plan_of(file_project, "gamma").inputs.fingerprint, snapshot(file_project)
    planned_bytes, planned_stat = source.read_bytes(), source.stat()

    summary = build_editing(file_project, monkeypatch, "gamma", how)

    assert_discarded(file_project, summary, "gamma", "models/gamma.pb", planned)
    assert snapshot(file_project) == before  # old outputs and old lock entry stand
    now = source.stat()
    assert (now.st_ino, now.st_size, now.st_mtime_ns) == (planned_stat.st_ino, planned_stat.st_size,
                                                         planned_stat.st_mtime_ns)
    assert (source.read_bytes() == planned_bytes) == (how == "revert")
    assert run_build(file_project).built == ["gamma"]  # converts what is there now
    assert_built_right(file_project, tmp_path / "clean")
    if how == "rewrite":
        source.write_bytes(planned_bytes)  # back to what the failed build fingerprinted
        age(source)
        assert plan_of(file_project, "gamma").reasons == ("source changed: gamma.pb",)
        assert run_build(file_project).built == ["gamma"]  # converted: nothing was cached under it
        assert_built_right(file_project, tmp_path / "clean-again")


def test_file_source_replaced_on_its_first_build_is_not_locked(
    file_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = file_project / "models/gamma.pb"
    planned, planned_bytes = plan_of(file_project, "gamma").inputs.fingerprint, source.read_bytes()

    summary = build_editing(file_project, monkeypatch, "gamma", "replace")

    assert_discarded(file_project, summary, "gamma", "models/gamma.pb", planned)
    assert summary.built == ["alpha", "beta"]  # the others are kept
    assert sorted(locked(file_project)) == ["alpha", "beta"]
    assert not (file_project / "dist/tfjs/gamma").exists()
    assert plan_of(file_project, "gamma").reasons == ("new model",)
    assert run_build(file_project).built == ["gamma"]
    assert locked(file_project)["gamma"]["fingerprint"] != planned
    assert_built_right(file_project, tmp_path / "clean")
    source.write_bytes(planned_bytes)
    age(source)
    assert plan_of(file_project, "gamma").reasons == ("source changed: gamma.pb",)
    assert run_build(file_project).built == ["gamma"]
    assert_built_right(file_project, tmp_path / "clean-again")


def test_saved_model_gaining_a_file_is_not_locked(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_build(project)
    (project / "models/alpha" / DATA_FILE).write_bytes(os.urandom(1000))
    age(project / "models/alpha")
    planned, before = plan_of(project, "alpha").inputs.fingerprint, snapshot(project)

    summary = build_editing(project, monkeypatch, "alpha", "add")

    assert_discarded(project, summary, "alpha", "models/alpha/assets/extra.txt", planned)
    assert snapshot(project) == before
    assert run_build(project).built == ["alpha"]
    assert "source/assets/extra.txt" in locked(project)["alpha"]["inputs"]
    assert_built_right(project, tmp_path / "clean")
    shutil.rmtree(project / "models/alpha/assets")
    assert plan_of(project, "alpha").reasons == ("source changed: assets/extra.txt",)
    assert run_build(project).built == ["alpha"]
    assert_built_right(project, tmp_path / "clean-again")


# ---------------------------------------------------------------- fingerprint.changed_input


def test_unchanged_inputs_pass_and_a_removed_or_added_file_is_named(project: Path) -> None:
    config = load_config(project / "tfjs.yaml")
    model, inputs = config.model("alpha"), plan_of(project, "alpha").inputs
    assert fingerprint.changed_input(model, inputs, project) is None
    added = project / "models/alpha/variables/extra"
    added.write_bytes(b"")
    assert fingerprint.changed_input(model, inputs, project) == added
    added.unlink()
    index = project / "models/alpha/variables/variables.index"
    index.unlink()
    assert fingerprint.changed_input(model, inputs, project) == index
    shutil.rmtree(project / "models/alpha")
    assert fingerprint.changed_input(model, inputs, project) == project / "models/alpha"


def test_a_recently_changed_file_is_also_re_hashed(project: Path) -> None:
    """A write in the same timestamp tick as the stat leaves the signature alone; the digest still tells."""
    config = load_config(project / "tfjs.yaml")
    model, inputs = config.model("beta"), plan_of(project, "beta").inputs
    data = project / "models/beta" / DATA_FILE
    role = f"source/{DATA_FILE}"
    as_if_written = dataclasses.replace(inputs, digests={**inputs.digests, role: "0" * 64})
    assert inputs.stamps[data].racy  # the fixture's files were all changed (by utime) a moment ago
    assert fingerprint.changed_input(model, as_if_written, project) == data
    settled = {path: stamp._replace(racy=False) for path, stamp in inputs.stamps.items()}
    # An old file whose stat is unchanged is not read again: that is what keeps the check cheap.
    assert fingerprint.changed_input(model, dataclasses.replace(as_if_written, stamps=settled), project) is None
