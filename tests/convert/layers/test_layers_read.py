"""Reading Keras files: what is not a Keras model fails with SourceError naming the fix (no TensorFlow)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import h5py
import pytest

from tfjs_build.convert.layers.read import read_keras_file
from tfjs_build.errors import SourceError

WHERE = "tfjs.yaml:3:13: models.net.source"
CONFIG = {"class_name": "Sequential", "config": {"name": "s", "layers": []}}


def test_keras_archive_is_read_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(CONFIG))
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("model.weights.h5", b"")
    found = read_keras_file(path, WHERE)
    assert (found.model_config, found.keras_version, found.keras3) == (CONFIG, "3.15.1", True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


def test_h5_version_decides_keras2_or_3(tmp_path: Path) -> None:
    for version, keras3 in (("2.15.0", False), ("3.15.1", True)):
        path = tmp_path / f"{version}.h5"
        with h5py.File(path, "w") as handle:
            handle.attrs["model_config"] = json.dumps(CONFIG)
            handle.attrs["keras_version"] = version
        found = read_keras_file(path, WHERE)
        assert (found.keras_version, found.keras3) == (version, keras3)


def test_keras2_archive_is_refused_with_the_h5_fix(tmp_path: Path) -> None:
    path = tmp_path / "old.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(CONFIG))
        archive.writestr("metadata.json", json.dumps({"keras_version": "2.15.0"}))
    with pytest.raises(SourceError, match=r"written by Keras 2.15.0 \(tf_keras\).*model.save\('model.h5'\)"):
        read_keras_file(path, WHERE)


@pytest.mark.parametrize(("content", "expected"), [
    ("weights_only", "holds weights only (no model_config)"),
    ("zip_without_config", "is a zip without config.json"),
    ("garbage", "cannot read"),
    ("bad_json", "has an unreadable model config"),
])
def test_non_models_fail_with_a_fix(content: str, expected: str, tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    if content == "weights_only":
        with h5py.File(path, "w") as handle:
            handle.create_dataset("dense/kernel", data=[1.0])
    elif content == "zip_without_config":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("other.txt", "x")
    elif content == "bad_json":
        with h5py.File(path, "w") as handle:
            handle.attrs["model_config"] = "{not json"
    else:
        path.write_bytes(b"not a model")
    with pytest.raises(SourceError) as caught:
        read_keras_file(path, WHERE)
    assert str(caught.value).startswith(f"{WHERE}: ") and expected in str(caught.value)
