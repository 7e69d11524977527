"""Every number in tfjs.yaml has documented bounds, and a model name a length limit (issue 13).

Before, ``accuracy.samples: 1000000000`` ran out of memory, ``shard_size: 1`` silently wrote
one file per byte, and a 400-digit ``shard_size`` (or ``max_error``), a 300-character model
name each ended in a traceback (OverflowError, ENAMETOOLONG).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from config_project import error, load

from tfjs_build.config import CacheConfig, ModelConfig
from tfjs_build.config.fields import keys_of
from tfjs_build.config.kinds import Section

README = Path(__file__).resolve().parents[2] / "README.md"
DIGITS_400 = "9" * 400
SHOWN_400 = "9" * 40 + "... (400 characters)"


@pytest.mark.parametrize(("setting", "message"), [
    ("accuracy: {samples: 1000000000}", "accuracy.samples: expected a whole number <= 256, got 1000000000"),
    ("shard_size: 1", "shard_size: expected a size from 1KiB to 1GiB, got 1"),
    (f"shard_size: {DIGITS_400}", f"shard_size: expected a size from 1KiB to 1GiB, got {SHOWN_400}"),
    (f"shard_size: '{DIGITS_400}MiB'", "shard_size: expected a size from 1KiB to 1GiB, got '" + "9" * 39
     + "... (405 characters)"),
    (f"accuracy: {{max_error: {DIGITS_400}}}", f"accuracy.max_error: expected a number <= 1000000, got {SHOWN_400}"),
    ("budgets: {size: 1025GiB}", "budgets.size: expected a size from 1 to 1024GiB, got '1025GiB'"),
    ("budgets: {shards: 100001}", "budgets.shards: expected a whole number <= 100000, got 100001"),
    (f"budgets: {{params: {DIGITS_400}}}", f"budgets.params: expected a whole number <= 1000000000000, got {SHOWN_400}"),
])
def test_numbers_out_of_bounds_name_the_line_and_key(project: Path, setting: str, message: str) -> None:
    text = f"version: 1\nmodels:\n  a: {{source: sm, {setting}}}\n"
    assert error(project, text).startswith("tfjs.yaml:3:")
    assert error(project, text).endswith(f": models.a.{message}")


def test_cache_size_has_a_bound(project: Path) -> None:
    message = error(project, "version: 1\nmodels: {}\ncache: {max_size: 2048GiB}\n")
    assert message == "tfjs.yaml:3:19: cache.max_size: expected a size from 1 to 1024GiB, got '2048GiB'"


def test_model_names_are_at_most_100_characters(project: Path) -> None:
    assert load(project, f"version: 1\nmodels:\n  {'a' * 100}: {{source: sm}}\n").models[0].name == "a" * 100
    message = error(project, f"version: 1\nmodels:\n  {'a' * 300}: {{source: sm}}\n")
    assert message == f"tfjs.yaml:3:3: models.{'a' * 33}...: a model name of 300 characters; at most 100 " \
                      "(it becomes a folder name)"


def _bounded(record: type, prefix: str) -> Iterator[tuple[str, tuple[str, str]]]:
    for name, spec in keys_of(record).items():
        if isinstance(spec.kind, Section):
            yield from _bounded(spec.kind.record, f"{prefix}{name}.")
        elif (bounds := spec.kind.bounds()) is not None:
            yield f"{prefix}{name}", bounds


def test_readme_documents_every_bound_of_the_field_table() -> None:
    rows = [f"| `{key}` | {low} | {high} |" for key, (low, high) in
            [*_bounded(ModelConfig, ""), *_bounded(CacheConfig, "cache.")]]
    assert len(rows) == 12
    readme = README.read_text(encoding="utf-8")
    assert [row for row in rows if row not in readme] == []
