"""Typed lock records <-> JSON data, driven by the dataclass fields: one writer and one reader for every
entry of tfjs.lock and of the local and remote caches.

A dataclass is a JSON object of its fields, a NamedTuple a JSON list of its fields (compact, for the
many weights), a tuple a list, ``dict[str, T]`` an object, ``T | None`` a T or null, ``Any`` free JSON.
Reading is strict, because entries are untrusted (hand-edited, garbled, from a remote cache): every
value must have its field's type, or ``ValueError`` names the key path (``files[2].size``,
``accuracy.max_abs_error``). Every number in a lock record is a count, a size, an error or a
fraction, so a negative or non-finite one is refused too; free JSON may nest at most ``MAX_DEPTH``
levels (a deeper one could not be written back without overflowing Python's stack).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

MAX_DEPTH = 32
R = TypeVar("R")
_WORDS: dict[type, str] = {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
                           dict: "an object", list: "a list", tuple: "a list", type(None): "null"}


def to_data(value: Any) -> Any:
    """The JSON data of a record (and of everything in it)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):  # NamedTuples too: a list of their fields
        return [to_data(item) for item in value]
    if isinstance(value, dict):
        return {key: to_data(item) for key, item in value.items()}
    return value


def from_data(kind: type[R], data: Any, key: str = "") -> R:
    """``data`` read as a ``kind`` record; ValueError naming the key path of the first value that is wrong."""
    return _read(kind, data, key)


@functools.cache
def _field_types(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)


def _is_named_tuple(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, tuple) and hasattr(kind, "_fields")


def _describe(kind: Any) -> str:
    """How a message names what a value must be."""
    if _is_named_tuple(kind):
        return f"a list [{', '.join(kind._fields)}]"
    if dataclasses.is_dataclass(kind):
        return "an object"
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_describe(arg) for arg in typing.get_args(kind))
    return _WORDS.get(origin or kind, str(kind))


def _wrong(kind: Any, value: Any, key: str) -> ValueError:
    got = _WORDS.get(type(value), type(value).__name__)
    return ValueError(f"{key!r} must be {_describe(kind)}, got {got}" if key else f"expected {_describe(kind)}, got {got}")


def _read(kind: Any, value: Any, key: str) -> Any:
    return _reader(kind)(value, key)


Reader = Callable[[Any, str], Any]  # (JSON value, its key path) -> the typed value


@functools.cache
def _reader(kind: Any) -> Reader:
    """The reader of one type, worked out once per type (a lock holds thousands of values of a few types)."""
    origin = typing.get_origin(kind)
    if kind is Any:
        return _read_free
    if origin in (types.UnionType, typing.Union):
        (present,) = [option for option in typing.get_args(kind) if option is not type(None)]
        return functools.partial(_read_optional, kind, _reader(present))
    if _is_named_tuple(kind):
        return functools.partial(_read_named_tuple, kind, tuple(_reader(_field_types(kind)[n]) for n in kind._fields))
    if dataclasses.is_dataclass(kind):
        return functools.partial(_read_record, kind)
    if origin is tuple:
        return functools.partial(_read_list, kind, _reader(typing.get_args(kind)[0]))
    if origin is dict:
        return functools.partial(_read_mapping, kind, _reader(typing.get_args(kind)[1]))
    return functools.partial(_read_scalar, kind)


def _read_free(value: Any, key: str) -> Any:
    _check_free(value, key, 0)
    return value


def _read_optional(kind: Any, present: Reader, value: Any, key: str) -> Any:
    return None if value is None else present(value, key)


def _read_named_tuple(kind: Any, readers: tuple[Reader, ...], value: Any, key: str) -> Any:
    if not isinstance(value, list) or len(value) != len(readers):
        raise _wrong(kind, value, key)
    return kind(*(read(item, f"{key}[{i}]") for i, (read, item) in enumerate(zip(readers, value, strict=True))))


def _read_list(kind: Any, read: Reader, value: Any, key: str) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise _wrong(kind, value, key)
    return tuple(read(item, f"{key}[{i}]") for i, item in enumerate(value))


def _read_mapping(kind: Any, read: Reader, value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _wrong(kind, value, key)
    return {name: read(item, f"{key}.{name}") for name, item in value.items()}


def _read_record(kind: Any, value: Any, key: str) -> Any:
    if not isinstance(value, dict):
        raise _wrong(kind, value, key)
    prefix = f"{key}." if key else ""
    readers, required = _record_plan(kind)
    if unknown := sorted(value.keys() - readers.keys()):
        raise ValueError(f"unknown key {prefix + unknown[0]!r} (written by a newer tfjs-build?)")
    if missing := [name for name in required if name not in value]:
        raise ValueError(f"missing key {prefix + missing[0]!r}")
    return kind(**{name: readers[name](item, prefix + name) for name, item in value.items()})


@functools.cache
def _record_plan(kind: Any) -> tuple[dict[str, Reader], tuple[str, ...]]:
    """A dataclass's field readers, and the fields without a default (which every document must hold)."""
    hints = _field_types(kind)
    fields = dataclasses.fields(kind)
    required = tuple(f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
    return {f.name: _reader(hints[f.name]) for f in fields}, required


def _read_scalar(kind: Any, value: Any, key: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)  # JSON has one number type: 0 is as good as 0.0
    if type(value) is not kind:  # bool is an int subclass: True is no count
        raise _wrong(kind, value, key)
    if kind in (int, float):
        _check_number(value, key)
    return value


def _check_number(value: float, key: str) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{key!r} must be a finite number, got {value}")
    if value < 0:
        raise ValueError(f"{key!r} must not be negative, got {value}")


def _check_free(value: Any, key: str, depth: int) -> None:
    """Free JSON (settings): at most MAX_DEPTH levels deep, numbers finite (it is written back as strict JSON)."""
    if depth > MAX_DEPTH:
        raise ValueError(f"{key!r} nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{key!r} must be a finite number, got {value}")
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for name, item in children:
        _check_free(item, f"{key}.{name}" if isinstance(value, dict) else f"{key}[{name}]", depth + 1)


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[][{}:,]')


def too_deep(text: str, limit: int = MAX_DEPTH) -> list[str]:
    """Where the JSON ``text`` first nests more than ``limit`` containers deep, as the key path that leads there
    (["models", "m", "settings", "[0]"]); [] when it does not. For the message about a document so deep that
    json.loads cannot read it (RecursionError), which must still name the model and the key."""
    path: list[str] = []  # per open container: the key (object) or "[index]" (list) of its current child
    last = ""
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "{[":
            if len(path) > limit:
                return path
            path.append("[0]" if token == "[" else "")
        elif token in "}]" and path:
            path.pop()
        elif token == ":" and path:
            path[-1] = _string(last)
        elif token == "," and path and path[-1].startswith("["):
            path[-1] = f"[{int(path[-1][1:-1]) + 1}]"
        else:
            last = token
    return []


def _string(token: str) -> str:
    try:
        return str(json.loads(token))
    except ValueError:
        return token
