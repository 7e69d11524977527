"""A Keras source that is not what its name says (empty, truncated, another kind of file, .h5 and .keras
swapped) is refused before TensorFlow starts, at its tfjs.yaml line; Keras itself calls these "file not found"."""

from __future__ import annotations

import zipfile
from pathlib import Path

import h5py
import pytest
from projects import QUICKSTART, quickstart
from qa_cli import assert_user_error, tfjs_build

from tfjs_build.sources.detect import keras_file_problem


def _zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
    return path


def _hdf5(path: Path) -> Path:
    with h5py.File(path, "w") as handle:
        handle.attrs["keras_version"] = "3"
    return path


def test_real_keras_files_pass(tmp_path: Path) -> None:
    assert keras_file_problem(QUICKSTART / "models" / "digits.keras") is None
    assert keras_file_problem(_zip(tmp_path / "a.keras")) is None
    assert keras_file_problem(_hdf5(tmp_path / "a.h5")) is None
    assert keras_file_problem(_hdf5(tmp_path / "a.HDF5")) is None


@pytest.mark.parametrize(("name", "make", "message"), [
    ("m.keras", lambda p: p.write_bytes(b""), "a .keras file is a complete zip archive, but it is empty"),
    ("m.keras", lambda p: p.write_bytes(b"hello"), "a .keras file is a complete zip archive, but it starts with b'hello'"),
    ("m.keras", lambda p: p.write_bytes(_zip(p).read_bytes()[:40]), "a zip archive without its end"),
    ("m.h5", lambda p: p.write_text("{}"), "a .h5 file is an HDF5 file, but it starts with b'{}'"),
    ("m.keras", _hdf5, "this .keras file is an HDF5 (legacy .h5) file; rename it to .h5"),
    ("m.h5", _zip, "this .h5 file is a .keras zip archive; rename it to .keras"),
])
def test_wrong_keras_files_are_named(tmp_path: Path, name: str, make, message: str) -> None:
    make(tmp_path / name)
    problem = keras_file_problem(tmp_path / name)
    assert problem is not None and message in problem


def test_build_refuses_a_truncated_keras_file_at_its_line(tmp_path: Path) -> None:
    project = quickstart(tmp_path)
    source = project / "models" / "digits.keras"
    source.write_bytes(source.read_bytes()[:3000])
    run = tfjs_build(project, "build")
    assert_user_error(run, "error: digits-layers: ", "tfjs.yaml:5:13: models.digits-layers.source:",
                      "a zip archive without its end", "save the model again")
    assert "file not found" not in run.err.lower()
