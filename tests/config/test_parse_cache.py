"""The parse cache: a no-op run reuses what read_yaml made of an unchanged tfjs.yaml, and never trusts it blindly.

Every test compares against a fresh read of the same text (the cache off), so a cache that
returned anything else (stale data after an edit, lost positions in messages) fails here.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from config_project import EVERY_KEY, load

from tfjs_build.config import parse_cache
from tfjs_build.errors import ConfigError
from tfjs_build.project import ProjectPaths

BAD_BACKEND = EVERY_KEY.replace("backends: [cpu, wasm]", "backends: [cpu, metal]")


@pytest.fixture
def state(project: Path) -> ProjectPaths:
    paths = ProjectPaths(project.resolve())
    paths.ensure_state_dir()
    return paths


def _fresh(project: Path, text: str) -> object:
    """The config read with no cache (what the cache must reproduce)."""
    saved = parse_cache.lookup
    try:
        parse_cache.lookup = lambda *_: None  # type: ignore[assignment]
        return load(project, text)
    finally:
        parse_cache.lookup = saved  # type: ignore[assignment]


def test_a_cached_read_gives_the_same_config(project: Path, state: ProjectPaths) -> None:
    expected = _fresh(project, EVERY_KEY)
    assert state.parse_cache.is_file()
    entry = json.loads(state.parse_cache.read_text())
    assert list(entry) == [parse_cache.text_key(textwrap.dedent(EVERY_KEY))]
    assert load(project, EVERY_KEY) == expected


def test_positions_survive_the_cache(project: Path, state: ProjectPaths) -> None:
    with pytest.raises(ConfigError) as first:
        load(project, BAD_BACKEND)
    key = parse_cache.text_key(textwrap.dedent(BAD_BACKEND))
    assert parse_cache.lookup(project.resolve(), key) is not None  # valid YAML: cached, though validation failed
    with pytest.raises(ConfigError) as second:
        load(project, BAD_BACKEND)
    assert str(second.value) == str(first.value) == \
        "tfjs.yaml:4:19: defaults.backends[1]: expected one of cpu, wasm, webgl, got 'metal'"


def test_an_edit_is_read_again(project: Path, state: ProjectPaths) -> None:
    load(project, EVERY_KEY)
    edited = EVERY_KEY.replace("shard_size: 512KiB", "shard_size: 256KiB")
    assert load(project, edited).model("mobilenet").shard_size == 256 * 1024
    assert load(project, EVERY_KEY).model("mobilenet").shard_size == 512 * 1024  # both texts are kept


def test_only_a_few_texts_are_kept(project: Path, state: ProjectPaths) -> None:
    for size in range(parse_cache.MAX_ENTRIES + 3):
        load(project, EVERY_KEY.replace("shard_size: 512KiB", f"shard_size: {size + 1}KiB"))
    assert len(json.loads(state.parse_cache.read_text())) == parse_cache.MAX_ENTRIES


@pytest.mark.parametrize("garbage", [b"", b"{not json", b"[1, 2]", b'{"KEY": {"data": 1, "values": 3, "keys": {}}}',
                                     b'{"KEY": {"data": {}, "values": {"a": [1]}, "keys": {}}}', b"\xff\xfe",
                                     b"[" * 100_000 + b"]" * 100_000])
def test_a_damaged_cache_is_ignored_and_replaced(project: Path, state: ProjectPaths, garbage: bytes) -> None:
    expected = _fresh(project, EVERY_KEY)
    key = parse_cache.text_key(textwrap.dedent(EVERY_KEY))
    state.parse_cache.write_bytes(garbage.replace(b"KEY", key.encode()))
    assert load(project, EVERY_KEY) == expected
    assert parse_cache.lookup(project.resolve(), key) is not None  # rewritten by that read


def test_nothing_is_written_without_the_state_folder(project: Path) -> None:
    load(project, EVERY_KEY)
    assert not ProjectPaths(project.resolve()).state_dir.exists()


def test_an_unwritable_cache_is_no_error(project: Path, state: ProjectPaths) -> None:
    state.parse_cache.mkdir()  # neither readable nor writable as a file (as in a read-only checkout)
    assert load(project, EVERY_KEY) == _fresh(project, EVERY_KEY)
    assert state.parse_cache.is_dir()


def test_values_json_cannot_hold_exactly_are_not_cached(project: Path, state: ProjectPaths) -> None:
    parse_cache.store(project.resolve(), "k1", {"when": float("nan")}, {}, {})
    parse_cache.store(project.resolve(), "k2", {"day": __import__("datetime").date(2026, 1, 1)}, {}, {})
    assert not state.parse_cache.exists()


def test_a_cached_no_op_status_never_imports_yaml(tmp_path: Path) -> None:
    """With PyYAML poisoned, `status` still works on an unchanged tfjs.yaml it has read before."""
    from cli_process import run_cli
    from no_tensorflow import poison_module

    (tmp_path / "tfjs.yaml").write_text("version: 1\nmodels: {}\n")
    ProjectPaths(tmp_path).ensure_state_dir()
    assert run_cli("-C", str(tmp_path), "status").returncode == 0  # reads it with PyYAML, caches the read
    poisoned = poison_module(tmp_path / "poison", "yaml")
    done = run_cli("-C", str(tmp_path), "status", env={"PYTHONPATH": str(poisoned.pythonpath)})
    assert done.returncode == 0, done.stderr
    assert not poisoned.imported
    (tmp_path / "tfjs.yaml").write_text("version: 1\nmodels: {}\n# edited\n")
    assert run_cli("-C", str(tmp_path), "status", env={"PYTHONPATH": str(poisoned.pythonpath)}).returncode != 0
    assert poisoned.imported  # an edited file is read again, so the stand-in is what proves the cache was used
