"""The field table mechanism: a record's dataclass fields, each tagged with ``key(...)``, ARE its table of keys.

A tagged field says how its tfjs.yaml value is read (its ``Kind``: parsing, bounds,
JSON Schema), what a message says when it is missing, and whether it changes the
built files. ``read_keys`` validates a mapping against a record's table; the schema
export, ``ModelConfig.output_settings()`` and publish targets' options read the same
table, so a key is declared once and cannot be described two ways.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tfjs_build.errors import ConfigError
from tfjs_build.hints import did_you_mean

_TAG = "tfjs_build.key"
NO_DEFAULT: Any = object()  # a Key.default meaning "the record's own default applies"


if TYPE_CHECKING:  # a Protocol costs a millisecond to create, and only annotations use it

    class Context(Protocol):
        """Where values come from: raises errors naming file:line:col and key; resolves project paths."""

        @property
        def project(self) -> Path: ...

        def error(self, path: str, message: str, at_key: bool = False) -> ConfigError: ...


class Kind:
    """How one shape of value is read, bounded, described in JSON Schema and written into output_settings."""

    merges = False  # True: a value from `defaults:` and the model's own are combined key by key (mappings)

    def parse(self, ctx: Context, path: str, value: Any) -> Any:
        raise NotImplementedError

    def finish(self, parsed: Any) -> Any:
        """The record's value from what parse returned (after merging, for kinds that merge)."""
        return parsed

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def bounds(self) -> tuple[str, str] | None:
        """(lowest, highest) as messages and the README write them, for kinds of numbers."""
        return None

    def output(self, value: Any) -> Any:
        """The record value as plain JSON data, for fingerprints (tuples as lists, unset as "")."""
        if isinstance(value, tuple):
            return list(value)
        return "" if value is None else value


@dataclass(frozen=True)
class Key:
    """One tfjs.yaml key of a record."""

    kind: Kind
    description: str = ""
    required: str = ""  # non-empty: the key must be given; the text is the hint the message adds
    output: bool = False  # changes the built files: part of output_settings() and so of the fingerprint
    output_of: str = ""  # the record attribute output_settings() reads, when not the key's own
    default: Any = NO_DEFAULT  # a tfjs.yaml value read when the key is absent (paths: resolved per project)

    def schema(self) -> dict[str, Any]:
        schema = self.kind.schema()
        return {**schema, "description": self.description} if self.description else schema


def key(kind: Kind, description: str = "", **options: Any) -> dict[str, Key]:
    """Field metadata declaring a tfjs.yaml key: ``x: int = field(default=1, metadata=key(COUNT))``."""
    return {_TAG: Key(kind, description, **options)}


_TABLES: dict[type, dict[str, Key]] = {}


def keys_of(record: type) -> dict[str, Key]:
    """The keys of a record, in declaration order (the order messages list them in); read once per record."""
    table = _TABLES.get(record)
    if table is None:
        table = _TABLES[record] = {f.name: f.metadata[_TAG] for f in dataclasses.fields(record) if _TAG in f.metadata}
    return table


@cache
def default_of(record: type, name: str) -> Any:
    """The record's own default for key ``name`` (what an absent key means)."""
    (found,) = (f for f in dataclasses.fields(record) if f.name == name)
    return found.default


def unknown_key_message(name: str, known: tuple[str, ...]) -> str:
    return f"unknown key{did_you_mean(name, known)}; expected one of {', '.join(known)}"


UnknownKey = Callable[[str, tuple[str, ...]], str]


def check_known(ctx: Context, path: str, name: Any, known: tuple[str, ...], unknown: UnknownKey = unknown_key_message) -> None:
    if name not in known:
        raise ctx.error(f"{path}.{name}" if path else str(name), unknown(name, known), at_key=True)


def read_keys(ctx: Context, path: str, raw: Mapping[str, Any], record: type, *, require: bool = True,
              missing_at_key: bool = False, unknown: UnknownKey = unknown_key_message) -> dict[str, Any]:
    """The keys ``raw`` gives, parsed by their kinds (not yet finished), plus keys with a tfjs.yaml default.

    Order of complaints: unknown keys, then missing required ones, then values in file order.
    ``missing_at_key`` names the missing key's own path (publish options) instead of its mapping's.
    """
    table = keys_of(record)
    known = tuple(table)
    for name in raw:
        check_known(ctx, path, name, known, unknown)
    for name, spec in table.items():
        if require and spec.required and name not in raw:
            raise ctx.error(f"{path}.{name}" if missing_at_key else path, f"missing required key {name!r} {spec.required}")
    parsed = {name: table[name].kind.parse(ctx, f"{path}.{name}", value) for name, value in raw.items()}
    for name, spec in table.items():
        if name not in parsed and spec.default is not NO_DEFAULT:
            parsed[name] = spec.kind.parse(ctx, f"{path}.{name}", spec.default)
    return parsed


def build(record: type, parsed: Mapping[str, Any], **derived: Any) -> Any:
    """The record from parsed keys (each finished by its kind; absent ones take the record's defaults).

    ``derived`` values are computed while loading and win over parsed ones (a resolved input_format)."""
    table = keys_of(record)
    given = {name: table[name].kind.finish(value) for name, value in parsed.items() if name not in derived}
    return record(**given, **derived)


def output_settings(record: object) -> dict[str, Any]:
    """Every key of ``record`` that changes the built files, as JSON data, in declaration order."""
    return {
        name: spec.kind.output(getattr(record, spec.output_of or name))
        for name, spec in keys_of(type(record)).items()
        if spec.output
    }
