"""Read a Keras model file's config and version without extracting anything next to it.

``.keras`` archives are read as zips in memory (config.json, metadata.json); ``.h5`` files
through h5py (attrs ``model_config``, ``keras_version``). No tensorflow import: a model
that fails the tfjs-layers check fails before TensorFlow starts.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

from tfjs_build.errors import SourceError


@dataclass(frozen=True)
class KerasFile:
    model_config: dict[str, Any]  # {"class_name": ..., "config": ...}
    keras_version: str
    keras3: bool


def read_keras_file(path: Path, where: str) -> KerasFile:
    """The model config and Keras version of ``path``; SourceError when it is not a Keras model."""
    if zipfile.is_zipfile(path):
        return _read_archive(path, where)
    try:
        with h5py.File(path, "r") as handle:
            attrs = dict(handle.attrs)
    except OSError as exc:
        raise SourceError(f"{where}: cannot read {path} as a .keras zip or an HDF5 file ({exc}); "
                          "save the model with model.save('model.keras')") from None
    if "model_config" not in attrs:
        raise SourceError(f"{where}: {path} holds weights only (no model_config); a layers model needs the "
                          "architecture too: save with model.save(...), not model.save_weights(...)")
    version = _text(attrs.get("keras_version", "2"))
    return KerasFile(_json(attrs["model_config"], path, where), version, version.startswith("3."))


def _read_archive(path: Path, where: str) -> KerasFile:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                raise SourceError(f"{where}: {path} is a zip without config.json, so not a .keras model; "
                                  "save the model with model.save('model.keras')")
            config = _json(archive.read("config.json"), path, where)
            metadata = _json(archive.read("metadata.json"), path, where) if "metadata.json" in names else {}
    except zipfile.BadZipFile as exc:
        raise SourceError(f"{where}: {path} is a damaged zip ({exc}); save the model again") from None
    version = str(metadata.get("keras_version", "3"))
    if version.startswith("2."):
        # weights in an archive are stored by index only, and Keras 3 cannot load Keras 2 configs
        raise SourceError(f"{where}: {path} is a .keras archive written by Keras {version} (tf_keras), which "
                          "Keras 3 cannot load; save it as .h5 with tf_keras instead: model.save('model.h5')")
    return KerasFile(config, version, True)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _json(raw: Any, path: Path, where: str) -> dict[str, Any]:
    try:
        data = json.loads(_text(raw))
    except ValueError as exc:
        raise SourceError(f"{where}: {path} has an unreadable model config ({exc}); save the model again") from None
    if not isinstance(data, dict):
        raise SourceError(f"{where}: {path} has a model config that is not a JSON object; save the model again")
    return data
