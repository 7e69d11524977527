"""A damaged tfjs.lock is refused with a message naming the file, the model and the key, never a traceback."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from projects import fresh_project
from qa_cli import assert_user_error, lock_data, tfjs_build, write_lock_data

from tfjs_build.engine.lockfile import LOCK_NAME

ACCURACY = {"max_abs_error": 0.01, "max_rel_error": 0.02, "top1_agreement": None, "samples": 8}


@pytest.fixture(name="project")
def _project(tmp_path: Path) -> Path:
    return fresh_project(tmp_path)


@pytest.mark.parametrize("command", ["status", "check", "build"])
def test_lock_that_is_not_utf8(project: Path, command: str) -> None:
    (project / LOCK_NAME).write_bytes(b"\xff\xfe{")
    assert_user_error(tfjs_build(project, command), f"{project / LOCK_NAME}: cannot read tfjs.lock", "UTF-8",
                      "git checkout -- tfjs.lock")


def test_lock_that_is_a_directory(project: Path) -> None:
    (project / LOCK_NAME).unlink()
    (project / LOCK_NAME).mkdir()
    assert_user_error(tfjs_build(project, "status"), "cannot read tfjs.lock", "Is a directory")


def test_lock_from_a_newer_tfjs_build_asks_for_an_upgrade_not_a_delete(project: Path) -> None:
    data = lock_data(project)
    data["version"] = 2
    write_lock_data(project, data)
    run = tfjs_build(project, "check")
    assert_user_error(run, "lock version 2 was written by a newer tfjs-build", "upgrade tfjs-build")


def test_lock_that_is_a_list(project: Path) -> None:
    write_lock_data(project, [])
    assert_user_error(tfjs_build(project, "status"), "not a valid tfjs.lock (expected an object with version and models)")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda e: e.pop("fingerprint"), "missing key 'fingerprint'"),
    (lambda e: e.update(extra=1), "unknown key 'extra'"),
    (lambda e: e.update(size="big"), "'size' must be an integer, got a string"),
    (lambda e: e.update(params=True), "'params' must be an integer, got a boolean"),
    (lambda e: e.update(ops=5), "'ops' must be a list, got an integer"),
    (lambda e: e.update(files=[{"path": "model.json"}]), "missing key 'files[0].size'"),
    (lambda e: e.update(weights=[1, "x", None]), "'weights[0]' must be a list [name, dtype, nbytes], got an integer"),
    (lambda e: e.update(weights=[["w", "float32", -4]]), "'weights[0][2]' must not be negative, got -4"),
    (lambda e: e.update(accuracy=ACCURACY | {"max_abs_error": "lots"}),
     "'accuracy.max_abs_error' must be a number, got a string"),
    (lambda e: e.update(accuracy=ACCURACY | {"max_rel_error": float("nan")}),
     "'accuracy.max_rel_error' must be a finite number, got nan"),
    (lambda e: e.update(accuracy=ACCURACY | {"samples": 8.5}), "'accuracy.samples' must be an integer, got a number"),
    (lambda e: e.update(quantization={"float32": {"before": 8, "after": 2, "ratio": 4}}),
     "unknown key 'quantization.float32.ratio'"),
    (lambda e: e.update(size=-1), "'size' must not be negative, got -1"),
    (lambda e: e["files"][0].update(size=-1), "'files[0].size' must not be negative, got -1"),
    (lambda e: e["settings"].update(deep=json.loads("[" * 40 + "]" * 40)), "nests deeper than 32 levels"),
])
@pytest.mark.parametrize("command", ["status", "check", "build"])
def test_damaged_entry_names_the_model_and_key(project: Path, command: str, edit, message: str) -> None:
    data = lock_data(project)
    edit(data["models"]["digits"])
    write_lock_data(project, data)
    assert_user_error(tfjs_build(project, command), "tfjs.lock: models.digits: not a valid lock entry", message,
                      "restore it from git")


@pytest.mark.parametrize("command", ["status", "check", "build"])
def test_lock_nested_too_deep_for_json_names_the_model_and_key(project: Path, command: str) -> None:
    text = (project / LOCK_NAME).read_text(encoding="utf-8")
    deep = "[" * 100_000 + "]" * 100_000  # json.loads itself overflows Python's stack on this
    (project / LOCK_NAME).write_text(text.replace('"settings": {', f'"settings": {{"deep": {deep}, ', 1), encoding="utf-8")
    assert_user_error(tfjs_build(project, command), "tfjs.lock: models.digits: not a valid lock entry ('settings' nests "
                      "too deeply)", "restore it from git")


def test_damaged_lock_at_a_git_ref_asks_for_another_ref(project: Path) -> None:
    good = (project / LOCK_NAME).read_bytes()
    (project / LOCK_NAME).write_text("{oops", encoding="utf-8")
    git = ["git", "-C", str(project), "-c", "user.email=qa@example.com", "-c", "user.name=qa"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "tfjs.yaml", LOCK_NAME], check=True)
    subprocess.run([*git, "commit", "-qm", "damaged lock"], check=True)
    (project / LOCK_NAME).write_bytes(good)
    run = tfjs_build(project, "diff", "--base", "HEAD")
    assert_user_error(run, "tfjs.lock at HEAD (", "not a valid tfjs.lock", "pass another --base")
    assert "git checkout -- tfjs.lock" not in run.err  # that would not repair a lock inside a commit
