"""Files that tfjs.yaml names must be files: a directory in their place is a config error, not a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from projects import fresh_project
from qa_cli import assert_user_error, tfjs_build


@pytest.mark.parametrize("command", ["status", "build"])
def test_metadata_that_is_a_directory(tmp_path: Path, command: str) -> None:
    project = fresh_project(tmp_path)
    (project / "labels.json").unlink()
    (project / "labels.json").mkdir()
    assert_user_error(tfjs_build(project, command), "tfjs.yaml:6:24: models.digits.metadata.labels:",
                      "'labels.json' is a directory, expected a file")


def test_accuracy_inputs_that_is_a_directory(tmp_path: Path) -> None:
    project = fresh_project(tmp_path)
    config = project / "tfjs.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "    accuracy: {inputs: models}\n", encoding="utf-8")
    assert_user_error(tfjs_build(project, "status"), "tfjs.yaml:7:24: models.digits.accuracy.inputs:",
                      "'models' is a directory, expected a file")


def test_metadata_that_is_a_fifo(tmp_path: Path) -> None:
    project = fresh_project(tmp_path)
    (project / "labels.json").unlink()
    os.mkfifo(project / "labels.json")  # reading it would block forever
    assert_user_error(tfjs_build(project, "status"), "models.digits.metadata.labels:",
                      "'labels.json' is not a regular file (a FIFO or device?), expected a file")


def test_source_that_is_a_fifo(tmp_path: Path) -> None:
    project = fresh_project(tmp_path)
    config = project / "tfjs.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("models/digits", "models/net.keras"), encoding="utf-8")
    os.mkfifo(project / "models" / "net.keras")
    assert_user_error(tfjs_build(project, "status"), "models.digits.source:",
                      "net.keras is not a regular file or folder (a FIFO or device?)")
