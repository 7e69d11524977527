"""Swapping a built folder into place, with and without the atomic rename exchange."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfjs_build.engine import placement
from tfjs_build.project import ProjectPaths


def folder(path: Path, **files: str) -> Path:
    path.mkdir()
    for name, text in files.items():
        (path / name).write_text(text)
    return path


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_place_replaces_the_old_folder_whole(tmp_path: Path, monkeypatch, exchange: bool) -> None:
    if not exchange:
        monkeypatch.setattr(placement, "_exchange", lambda a, b: False)
    final = folder(tmp_path / "model", **{"model.json": "old", "old-shard.bin": "x"})
    placement.place(folder(tmp_path / ".model.tmp-1", **{"model.json": "new"}), final)
    assert {p.name: p.read_text() for p in final.iterdir()} == {"model.json": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_place_into_an_empty_spot(tmp_path: Path) -> None:
    placement.place(folder(tmp_path / ".m.tmp-1", a="1"), tmp_path / "m")
    assert (tmp_path / "m" / "a").read_text() == "1"


def test_exchange_really_swaps(tmp_path: Path) -> None:
    a, b = folder(tmp_path / "a", x="A"), folder(tmp_path / "b", x="B")
    assert placement._exchange(a, b)  # this machine's kernel and file system support it
    assert ((a / "x").read_text(), (b / "x").read_text()) == ("B", "A")


def test_leftovers_of_a_killed_build_are_removed(tmp_path: Path) -> None:
    out, paths = tmp_path / "dist", ProjectPaths(tmp_path)
    stale = [placement.temp_dir(out, "alpha"), placement.temp_dir(paths.work_dir, "alpha")]
    kept = folder(out / "alpha")
    placement.remove_leftovers(out, paths)
    assert not any(path.exists() for path in stale) and kept.exists()


def test_model_folders_get_the_permissions_mkdir_would_give(tmp_path: Path) -> None:
    (tmp_path / "by-mkdir").mkdir()
    expected = (tmp_path / "by-mkdir").stat().st_mode & 0o777
    assert placement.temp_dir(tmp_path / "dist", "alpha").stat().st_mode & 0o777 == expected
