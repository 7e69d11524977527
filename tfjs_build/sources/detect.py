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


HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
HDF5_OFFSETS = (0, 512, 1024, 2048)  # HDF5 allows a user block before its signature


def keras_file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be the Keras file its name says (Keras itself reports this as "file not found"),
    or None when it looks right: a .keras file is a whole zip archive, a .h5/.hdf5 file is HDF5."""
    import zipfile  # here, not at the top: loading tfjs.yaml imports this module and never needs it

    with open(path, "rb") as handle:
        head = handle.read(HDF5_OFFSETS[-1] + len(HDF5_MAGIC))
    is_zip = zipfile.is_zipfile(path)  # reads the central directory at the end: a truncated copy fails
    is_hdf5 = any(head[offset:offset + len(HDF5_MAGIC)] == HDF5_MAGIC for offset in HDF5_OFFSETS)
    suffix = path.suffix.lower()
    if is_zip if suffix == ".keras" else is_hdf5:
        return None
    if is_hdf5:
        return "this .keras file is an HDF5 (legacy .h5) file; rename it to .h5"
    if is_zip:
        return f"this {suffix} file is a .keras zip archive; rename it to .keras"
    expected = "a complete zip archive" if suffix == ".keras" else "an HDF5 file"
    if not head:
        found = "it is empty"
    elif head.startswith(b"PK"):
        found = "it is a zip archive without its end (a truncated copy?)"
    else:
        found = f"it starts with {head[:16]!r}"
    return f"not a Keras file: a {suffix} file is {expected}, but {found}; save the model again with model.save(...)"
