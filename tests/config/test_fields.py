"""The field-table mechanism on a record of its own: what publish targets use for their options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tfjs_build.config.fields import build, key, keys_of, output_settings, read_keys
from tfjs_build.config.kinds import Boolean, Count, Text
from tfjs_build.errors import ConfigError


@dataclass(frozen=True)
class Probe:
    name: str = field(metadata=key(Text(), required="(the probe's name)", output=True))
    count: int = field(default=3, metadata=key(Count(10), output=True))
    loud: bool = field(default=False, metadata=key(Boolean()))
    derived: str = ""  # not a key: set while loading


class Positions:
    """Errors as "AT(path)": enough to see which path each complaint names."""

    project = Path()

    def error(self, path: str, message: str, at_key: bool = False) -> ConfigError:
        return ConfigError(f"{'key' if at_key else 'value'}@{path}: {message}")


def read(raw: dict, **options: object) -> Probe:
    return build(Probe, read_keys(Positions(), "probe", raw, Probe, **options), derived="x")


def test_a_record_is_its_own_table() -> None:
    assert list(keys_of(Probe)) == ["name", "count", "loud"]
    probe = read({"name": "p", "loud": True})
    assert probe == Probe(name="p", count=3, loud=True, derived="x")
    assert output_settings(probe) == {"name": "p", "count": 3}


@pytest.mark.parametrize(("raw", "options", "message"), [
    ({"name": "p", "lod": 1}, {}, "key@probe.lod: unknown key (did you mean 'loud'?); expected one of name, count, loud"),
    ({"count": 1}, {}, "value@probe: missing required key 'name' (the probe's name)"),
    ({"count": 1}, {"missing_at_key": True}, "value@probe.name: missing required key 'name' (the probe's name)"),
    ({"name": "p", "count": 11}, {}, "value@probe.count: expected a whole number <= 10, got 11"),
    ({"name": ""}, {}, "value@probe.name: expected a non-empty string, got ''"),
])
def test_complaints_name_the_path(raw: dict, options: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        read(raw, **options)
    assert str(info.value) == message
