"""A build replaces only model folders it wrote: never one that holds the user's files.

A hostile probe set ``output_dir: .`` with a model named ``docs`` and the build deleted
docs/README.md (exit 0); ``output_dir: .git`` with a model named ``objects`` broke the
repository. Now a model folder holding anything but model.json, weight shards and the
files its lock entry lists is refused before any work (exit 2, the other models still
build), ``place`` refuses it too, and an output_dir inside .git or .tfjs-build is a config error.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from projects import write_pair_config
from stand_in_runs import run_build, stand_in_cli

from tfjs_build.engine import placement
from tfjs_build.errors import TfjsBuildError

DOCS_CONFIG = """\
version: 1
output_dir: .
models:
  docs:
    source: models/alpha
  beta:
    source: models/beta
"""


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          check=True, capture_output=True, text=True).stdout


def files_below(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- the probe's two cases


def test_output_dir_dot_never_deletes_a_users_folder(project: Path, conversions) -> None:
    (project / "tfjs.yaml").write_text(DOCS_CONFIG, encoding="utf-8")
    (project / "docs" / "guide").mkdir(parents=True)
    (project / "docs" / "README.md").write_text("# the user's docs\n", encoding="utf-8")
    (project / "docs" / "guide" / "intro.md").write_text("intro\n", encoding="utf-8")
    (project / "docs" / "model.json").write_text("{}", encoding="utf-8")  # a name we might write: not enough
    before = files_below(project / "docs")
    run = stand_in_cli(project, "build")
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert files_below(project / "docs") == before
    assert (
        "tfjs.yaml:4:3: models.docs: its output folder docs/ holds README.md, guide/intro.md that "
        "tfjs-build did not write, and a build replaces that folder whole; move those files, or choose another "
        "output_dir or model name\n"
    ) in run.stderr
    assert conversions() == ["beta"]  # refused before converting; the other model still built
    assert "1 built, 1 failed" in run.stdout and (project / "beta" / "model.json").is_file()
    assert list(json.loads((project / "tfjs.lock").read_text())["models"]) == ["beta"]


@pytest.mark.parametrize("output_dir", [".git", ".git/objects", "./.git/", "sub/.git", ".tfjs-build", "link"])
@pytest.mark.parametrize("command", ["build", "status"])
def test_output_dir_inside_git_or_the_state_folder_is_refused(project: Path, output_dir: str, command: str) -> None:
    (project / "sub" / ".git").mkdir(parents=True)
    (project / "link").symlink_to(".git")
    git(project, "init", "-q")
    git(project, "add", "tfjs.yaml")
    git(project, "commit", "-q", "-m", "first")
    head, objects = git(project, "rev-parse", "HEAD"), files_below(project / ".git" / "objects")
    (project / "tfjs.yaml").write_text(
        f"version: 1\noutput_dir: {output_dir}\nmodels:\n  objects:\n    source: models/alpha\n", encoding="utf-8")
    run = stand_in_cli(project, command)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    reserved = ".tfjs-build" if output_dir == ".tfjs-build" else ".git"
    assert f"tfjs.yaml:2:13: output_dir: {output_dir!r} is inside {reserved}/" in run.stderr, run.stderr
    assert "choose a folder of its own such as dist/tfjs" in run.stderr
    assert files_below(project / ".git" / "objects") == objects and git(project, "rev-parse", "HEAD") == head
    git(project, "fsck", "--strict")


# ---------------------------------------------------------------- what is still replaced


def test_rebuild_over_our_own_output(project: Path) -> None:
    run_build(project)
    write_pair_config(project, quantize="float16")
    assert run_build(project).built == ["beta"]
    assert run_build(project).fresh == ["alpha", "beta"]


def test_folder_of_outputs_without_a_lock_entry_is_replaced(project: Path) -> None:
    run_build(project)
    (project / "tfjs.lock").unlink()
    summary = run_build(project)
    assert (summary.restored, summary.failed) == (["alpha", "beta"], [])


def test_hand_modified_model_json_is_replaced(project: Path) -> None:
    run_build(project)
    model_json = project / "dist/tfjs/alpha/model.json"
    built = model_json.read_bytes()
    model_json.write_text('{"edited": true}', encoding="utf-8")
    summary = run_build(project)
    assert (summary.restored, summary.failed) == (["alpha"], []) and model_json.read_bytes() == built


def test_files_the_lock_entry_lists_are_ours(tmp_path: Path) -> None:
    final = tmp_path / "alpha"
    final.mkdir()
    (final / "weights.dat").write_text("old")
    (tmp_path / ".alpha.tmp-1").mkdir()
    placement.place(tmp_path / ".alpha.tmp-1", final, owned=("weights.dat",))
    assert list(final.iterdir()) == []


# ---------------------------------------------------------------- what is refused


def foreign_things(folder: Path, kind: str) -> str:
    """Put one thing no build writes into ``folder``; the name the refusal shows."""
    if kind == "file":
        (folder / "notes.txt").write_text("mine")
        return "notes.txt"
    if kind == "subfolder":
        (folder / "extra").mkdir()
        (folder / "extra" / "w-0123456789abcdef.bin").write_text("mine")
        return "extra/w-0123456789abcdef.bin"
    if kind == "empty-subfolder":
        (folder / "extra").mkdir()
        return "extra/"
    if kind == "symlink":
        (folder / "group1-shard1of1.bin").unlink()
        (folder / "group1-shard1of1.bin").symlink_to(folder.parent / "elsewhere.bin")
        return "group1-shard1of1.bin"
    os.mkfifo(folder / "pipe.bin")
    return "pipe.bin"


@pytest.mark.parametrize("kind", ["file", "subfolder", "empty-subfolder", "symlink", "fifo"])
def test_a_foreign_thing_in_our_output_folder_is_kept(project: Path, conversions, kind: str) -> None:
    run_build(project)
    out = project / "dist/tfjs/alpha"
    (out.parent / "elsewhere.bin").write_text("not ours")
    shown = foreign_things(out, kind)
    write_pair_config(project, quantize="float16")
    (project / "models/alpha/saved_model.pb").write_bytes(b"changed")  # alpha stale: it would be converted
    before = sorted(p.name for p in out.iterdir())
    summary = run_build(project)
    ((name, message, code),) = summary.failed
    assert (name, code, summary.built) == ("alpha", 2, ["beta"])
    assert f"its output folder dist/tfjs/alpha/ holds {shown} that tfjs-build did not write" in message
    assert sorted(p.name for p in out.iterdir()) == before and (out.parent / "elsewhere.bin").read_text() == "not ours"
    assert sorted(conversions()) == ["alpha", "beta", "beta"]


@pytest.mark.parametrize("kind", ["symlink", "file"])
def test_a_model_folder_that_is_not_a_folder_is_kept(project: Path, tmp_path: Path, kind: str) -> None:
    out = project / "dist/tfjs/alpha"
    out.parent.mkdir(parents=True)
    if kind == "symlink":
        (tmp_path / "target").mkdir()
        out.symlink_to(tmp_path / "target")
    else:
        out.write_text("mine")
    summary = run_build(project)
    ((name, message, code),) = summary.failed
    assert (name, code, summary.built) == ("alpha", 2, ["beta"])
    assert f"its output folder dist/tfjs/alpha/ is a {kind}, not a folder tfjs-build wrote" in message
    assert out.is_symlink() if kind == "symlink" else out.read_text() == "mine"


def test_more_than_three_foreign_files_are_counted(project: Path) -> None:
    out = project / "dist/tfjs/alpha"
    out.mkdir(parents=True)
    for name in ("a.md", "b.md", "c.md", "d.md", "model.json"):
        (out / name).write_text("mine")
    ((_, message, _),) = run_build(project).failed
    assert "holds a.md, b.md, c.md and more that tfjs-build did not write" in message


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_place_refuses_a_folder_with_foreign_files(tmp_path: Path, monkeypatch, exchange: bool) -> None:
    if not exchange:
        monkeypatch.setattr(placement, "_exchange", lambda a, b: False)
    final = tmp_path / "docs"
    final.mkdir()
    (final / "README.md").write_text("mine")
    (final / "model.json").write_text("{}")
    tmp = tmp_path / ".docs.tmp-1"
    tmp.mkdir()
    (tmp / "model.json").write_text("new")
    with pytest.raises(TfjsBuildError, match=r"docs: holds README.md that tfjs-build did not write"):
        placement.place(tmp, final)
    assert files_below(final) == {"README.md": b"mine", "model.json": b"{}"} and tmp.is_dir()
