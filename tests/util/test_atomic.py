"""Atomic writes keep the previous file on failure and give ordinary permissions."""

import stat
from pathlib import Path

import pytest

from tfjs_build.util.atomic import FILE_MODE, atomic_write_bytes, atomic_write_text


def test_written_file_has_the_permissions_of_an_ordinary_file(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "model.json", "{}")
    (tmp_path / "plain.json").write_text("{}")
    mode = stat.S_IMODE((tmp_path / "model.json").stat().st_mode)
    assert mode == FILE_MODE == stat.S_IMODE((tmp_path / "plain.json").stat().st_mode)
    assert mode & 0o044, "others must be able to read a built model (mkstemp alone gives 0600)"


def test_failed_write_keeps_previous_content_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "tfjs.lock"
    atomic_write_bytes(target, b"old")
    with pytest.raises(TypeError):
        atomic_write_bytes(target, "text is not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tfjs.lock"]
