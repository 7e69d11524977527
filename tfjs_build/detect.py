"""Guess a model source's input format from what is on disk, without importing tensorflow."""

from __future__ import annotations

from pathlib import Path

INPUT_FORMATS = ("auto", "saved_model", "keras", "frozen_graph", "tf_hub")
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def detect_input_format(path: Path) -> tuple[str | None, str]:
    """Return (format, what was found). format is None when nothing matches."""
    if path.is_dir():
        if (path / "tfhub_module.pb").exists():
            return None, "a TF1 Hub module (tfhub_module.pb), which TF2 cannot load; use its TF2 SavedModel version"
        if (path / "saved_model.pb").exists() or (path / "saved_model.pbtxt").exists():
            return "saved_model", "a SavedModel directory"
        return None, "a directory without saved_model.pb"
    suffix = path.suffix.lower()
    if suffix in KERAS_SUFFIXES:
        return "keras", f"a Keras file ({suffix})"
    if suffix == ".pb":
        return "frozen_graph", "a frozen GraphDef (.pb)"
    return None, f"a file with extension {suffix or '(none)'!r}"
