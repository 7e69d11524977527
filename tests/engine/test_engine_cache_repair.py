"""A cache blob replaced by a folder is repaired by the next build, not an error on every build."""

from __future__ import annotations

import shutil
from pathlib import Path

from stand_in_runs import run_build

from tfjs_build.config import load_config
from tfjs_build.engine.local_cache import LocalCache
from tfjs_build.engine.lockfile import read_lock


def _blob_of(root: Path, model: str) -> Path:
    config = load_config(root / "tfjs.yaml")
    entry = read_lock(config.lock_path).models[model]
    return LocalCache(config.cache.dir).blob(next(f.sha256 for f in entry.files if f.path == "model.json"))


def test_a_blob_replaced_by_a_folder_is_rebuilt_and_stored_again(project: Path) -> None:
    assert run_build(project).exit_code == 0
    blob = _blob_of(project, "alpha")
    blob.unlink()
    (blob / "inner").mkdir(parents=True)
    shutil.rmtree(project / "dist" / "tfjs" / "alpha")  # stale: the build must restore or convert it

    summary = run_build(project)
    assert summary.exit_code == 0 and summary.built == ["alpha"] and summary.restored == []
    assert blob.is_file(), "the folder in the blob's place was not replaced by the blob"

    shutil.rmtree(project / "dist" / "tfjs" / "alpha")
    again = run_build(project)
    assert again.exit_code == 0 and again.restored == ["alpha"]


def test_gc_removes_a_folder_in_a_blobs_place(project: Path) -> None:
    assert run_build(project).exit_code == 0
    config = load_config(project / "tfjs.yaml")
    stray = LocalCache(config.cache.dir).blob("ab" + "0" * 62)
    (stray / "x").mkdir(parents=True)
    LocalCache(config.cache.dir).gc(max_size=1 << 30)
    assert not stray.exists()


def test_temp_files_of_a_killed_cache_write_are_removed_by_the_next_build(project: Path) -> None:
    assert run_build(project).exit_code == 0
    cache = LocalCache(load_config(project / "tfjs.yaml").cache.dir)
    blob = _blob_of(project, "alpha")
    leftovers = [blob.with_name(f".{blob.name}.k1ll3d.tmp"),
                 next(cache.root.glob("entries/*/*.json")).with_name(".x.json.abcd1234.tmp")]
    for leftover in leftovers:
        leftover.write_bytes(b"half written")
    assert run_build(project).exit_code == 0
    assert not [leftover for leftover in leftovers if leftover.exists()]
    assert blob.is_file()
