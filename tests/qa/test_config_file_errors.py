"""A config file that is not UTF-8, a config path that is a folder, -C to a file: messages with the place and the fix."""

from __future__ import annotations

from pathlib import Path

from projects import fresh_project
from qa_cli import assert_user_error, tfjs_build


def test_non_utf8_config_names_line_and_column(tmp_path: Path) -> None:
    project = fresh_project(tmp_path)
    (project / "tfjs.yaml").write_bytes(b"version: 1\nmodels:\n  digits:\n    source: mod\xe9ls/digits\n")
    assert_user_error(tfjs_build(project, "status"), "tfjs.yaml:4:16: not UTF-8 text (byte 0xe9); save the file as UTF-8")


def test_config_path_that_is_a_folder(tmp_path: Path) -> None:
    project = fresh_project(tmp_path)
    run = tfjs_build(project, "-c", "models", "status")
    assert_user_error(run, "models: is a folder; pass the config file itself with -c FILE, or its folder with -C DIR")


def test_directory_option_that_is_a_file(tmp_path: Path) -> None:
    project = fresh_project(tmp_path)
    run = tfjs_build(project, "-C", str(project / "tfjs.yaml"), "status")  # the second -C wins
    assert_user_error(run, "tfjs.yaml: is a file; pass the folder that holds tfjs.yaml")


def test_unknown_model_name_lists_the_models(tmp_path: Path) -> None:
    project = fresh_project(tmp_path)
    for command in ("build", "status", "check"):
        assert_user_error(tfjs_build(project, command, "nosuch"), "no model named 'nosuch'; the models are: digits")
