"""`check` compares the built files with tfjs.lock by sha256, as `status` does (one mechanism: output_mismatch),
so a pre-commit hook or CI catches outputs that were tampered with even when their sizes still match."""

from __future__ import annotations

import hashlib
import os
import shutil
import time

import pytest
from projects import Project, entry

from tfjs_build.engine.fingerprint import HASH_NAME
from tfjs_build.engine.lockfile import OutputFile
from tfjs_build.engine.stat_cache import StatCache
from tfjs_build.project import ProjectPaths

MODEL_JSON = b'{"format": "graph-model", "modelTopology": {}, "weightsManifest": []}'
SHARD = bytes(range(256)) * 16


@pytest.fixture
def built(project: Project) -> Project:
    """Model ``m`` built: its folder holds exactly the files its lock entry lists."""
    project.write_models("m")
    folder = project.root / "dist" / "tfjs" / "m"
    folder.mkdir(parents=True)
    files = []
    for name, data in (("model.json", MODEL_JSON), ("group1-shard1of1.bin", SHARD)):
        (folder / name).write_bytes(data)
        files.append(OutputFile(name, len(data), hashlib.sha256(data).hexdigest()))
    project.write_lock({"m": entry(ops=("Identity",), files=tuple(files))})
    return project


def _failures(project: Project) -> tuple[int, list[str]]:
    code, out = project.run("check")
    return code, [line.removeprefix("FAIL ") for line in out.splitlines() if line.startswith("FAIL ")]


def test_untouched_outputs_pass(built: Project) -> None:
    assert _failures(built) == (0, [])


def test_not_built_in_this_checkout_passes(built: Project) -> None:
    shutil.rmtree(built.root / "dist")  # CI checking a committed lock: the figures still stand
    assert _failures(built) == (0, [])


def test_same_size_corruption_fails(built: Project) -> None:
    path = built.root / "dist/tfjs/m/model.json"
    path.write_bytes(MODEL_JSON.replace(b"graph-model", b"graph-mode!"))
    assert _failures(built) == (1, ["dist/tfjs/m: model.json missing or not as recorded in tfjs.lock; "
                                    "run `tfjs-build build m` to rebuild them"])


def test_an_extra_file_fails(built: Project) -> None:
    (built.root / "dist/tfjs/m/group1-shard2of2.bin").write_bytes(b"extra")
    assert _failures(built) == (1, ["dist/tfjs/m: holds group1-shard2of2.bin, which tfjs.lock does not list; "
                                    "run `tfjs-build build m` to rebuild them"])


def test_a_file_in_place_of_the_model_folder_fails(built: Project) -> None:
    shutil.rmtree(built.root / "dist/tfjs/m")
    (built.root / "dist/tfjs/m").write_bytes(MODEL_JSON)
    code, failures = _failures(built)
    assert code == 1 and failures == ["dist/tfjs/m: is not a model folder (a file in its place?); "
                                      "run `tfjs-build build m` to rebuild them"]


def test_digests_come_from_the_stat_cache_once_known(built: Project) -> None:
    """What keeps check fast: the outputs' digests are remembered, so the next check hashes nothing."""
    folder = built.root / "dist/tfjs/m"
    past = time.time() - 60  # older than the stat cache's "racily clean" window
    for path in folder.iterdir():
        os.utime(path, (past, past))
    assert _failures(built) == (0, [])
    with StatCache(ProjectPaths(built.root).stat_cache, HASH_NAME) as stats:
        remembered = {path.name: stats.lookup(path, path.stat()) for path in folder.iterdir()}
    assert remembered == {"model.json": hashlib.sha256(MODEL_JSON).hexdigest(),
                          "group1-shard1of1.bin": hashlib.sha256(SHARD).hexdigest()}
