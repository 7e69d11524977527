"""The kinds of tfjs.yaml values: each parses a value or says why not, knows its bounds and its JSON Schema.

Every number has an upper bound (and sizes a lower one): a typo such as
``samples: 1000000000`` or a 400-digit ``shard_size`` must be a message naming the
line, not an out-of-memory kill or an OverflowError deep in a build.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfjs_build.config.fields import Kind, build, check_known, keys_of, read_keys
from tfjs_build.hints import describe, did_you_mean
from tfjs_build.util.units import parse_size
from tfjs_build.util.urls import redact

if TYPE_CHECKING:
    from tfjs_build.config.fields import Context

KiB, MiB, GiB, TiB = (1024**n for n in range(1, 5))
_SIZE_PATTERN = r"^\s*\d+(\.\d+)?\s*([kKmMgG]i?[bB]?|[bB])?\s*$"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def binary_size(n: int) -> str:
    """A bound as tfjs.yaml could write it (GiB is the largest unit it reads): 1KiB, 1024GiB, or a byte count."""
    for unit, factor in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{unit}"
    return str(n)


class Text(Kind):
    def parse(self, ctx: Context, path: str, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise ctx.error(path, f"expected a non-empty string, got {describe(value)}")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "string"}


class Boolean(Kind):
    def parse(self, ctx: Context, path: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ctx.error(path, f"expected true or false, got {describe(value)}")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class Count(Kind):
    """A whole number from 1 to ``high``."""

    def __init__(self, high: int) -> None:
        self.high = high

    def parse(self, ctx: Context, path: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ctx.error(path, f"expected a whole number >= 1, got {describe(value)}")
        if value > self.high:
            raise ctx.error(path, f"expected a whole number <= {self.high}, got {describe(value)}")
        return value

    def bounds(self) -> tuple[str, str]:
        return "1", str(self.high)

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1, "maximum": self.high}


class Size(Kind):
    """A byte count, written as a number or with a unit (4MiB, 5MB), from ``low`` to ``high``."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def parse(self, ctx: Context, path: str, value: Any) -> int:
        try:
            size = parse_size(value)
        except ValueError as exc:
            raise ctx.error(path, f"{exc}, got {describe(value)}") from None
        except OverflowError:  # "1e999MiB" reads as infinity
            size = self.high + 1
        if size < 1:
            raise ctx.error(path, f"expected a size > 0, got {describe(value)}")
        if not self.low <= size <= self.high:
            raise ctx.error(path, "expected a size from {} to {}, got {}".format(*self.bounds(), describe(value)))
        return size

    def bounds(self) -> tuple[str, str]:
        return binary_size(self.low), binary_size(self.high)

    def schema(self) -> dict[str, Any]:
        return {"oneOf": [{"type": "integer", "minimum": self.low, "maximum": self.high},
                          {"type": "string", "pattern": _SIZE_PATTERN}]}


class Limit(Kind):
    """A number from 0 to ``high`` (an error bound such as 0.01)."""

    def __init__(self, high: int) -> None:
        self.high = high

    def parse(self, ctx: Context, path: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
            raise ctx.error(path, f"expected a number >= 0 such as 0.01, got {describe(value)}")
        if value > self.high:  # compared before float(): float() of a 400-digit int overflows
            raise ctx.error(path, f"expected a number <= {self.high}, got {describe(value)}")
        return float(value)

    def bounds(self) -> tuple[str, str]:
        return "0", str(self.high)

    def schema(self) -> dict[str, Any]:
        return {"type": "number", "minimum": 0, "maximum": self.high}


class Choice(Kind):
    def __init__(self, choices: tuple[str, ...]) -> None:
        self.choices = choices

    def parse(self, ctx: Context, path: str, value: Any) -> str:
        if value not in self.choices:
            raise ctx.error(path, f"expected one of {', '.join(self.choices)}, got {describe(value)}"
                                  f"{did_you_mean(value, self.choices)}")
        return value

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.choices)}


class ListOf(Kind):
    """A list of ``item``; a single value stands for a list of one. ``unique`` drops repeats (first wins)."""

    def __init__(self, item: Kind, unique: bool = False) -> None:
        self.item, self.unique = item, unique

    def parse(self, ctx: Context, path: str, value: Any) -> tuple[Any, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ctx.error(path, f"expected a list, got {describe(value)}")
        items = tuple(self.item.parse(ctx, f"{path}[{i}]", v) for i, v in enumerate(value))
        return tuple(dict.fromkeys(items)) if self.unique else items

    def schema(self) -> dict[str, Any]:
        return {"oneOf": [self.item.schema(), {"type": "array", "items": self.item.schema()}]}


class Sha256(Kind):
    def parse(self, ctx: Context, path: str, value: Any) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ctx.error(path, "YAML read this digest as a number; put it in quotes")
        if not isinstance(value, str) or not _SHA256.match(value.lower()):
            raise ctx.error(path, f"expected 64 hexadecimal digits (sha256sum of the file), got {describe(value)}")
        return value.lower()

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}


class Url(Text):
    """A URL of one of ``schemes`` (http(s) unless told), without the trailing slash (paths are appended to it)."""

    def __init__(self, expected: str, schemes: tuple[str, ...] = ("https://", "http://")) -> None:
        self.expected = expected
        self.schemes = schemes

    def parse(self, ctx: Context, path: str, value: Any) -> str:
        url = super().parse(ctx, path, value)
        if not url.startswith(self.schemes):
            raise ctx.error(path, f"expected {self.expected}, got {redact(url)!r}")  # no user:password@ shown
        return url.rstrip("/")

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "uri"}


class EnvName(Text):
    """The NAME of an environment variable (a secret's value never appears in tfjs.yaml)."""

    def parse(self, ctx: Context, path: str, value: Any) -> str:
        name = super().parse(ctx, path, value)
        if not name.replace("_", "").isalnum():
            raise ctx.error(path, f"expected the name of an environment variable (such as GITHUB_TOKEN), got {name!r}")
        return name


class ProjectPath(Kind):
    """A path relative to tfjs.yaml's folder that stays inside it (symlinks resolved)."""

    def parse(self, ctx: Context, path: str, value: Any) -> Path:
        text = Text().parse(ctx, path, value)
        resolved = (ctx.project / text).resolve()
        if not resolved.is_relative_to(ctx.project):
            raise ctx.error(path, f"path {text!r} leads outside the project ({ctx.project}); "
                                  "keep models and files inside the folder that holds tfjs.yaml")
        return resolved

    def schema(self) -> dict[str, Any]:
        return {"type": "string"}


class ExistingPath(ProjectPath):
    def parse(self, ctx: Context, path: str, value: Any) -> Path:
        resolved = super().parse(ctx, path, value)
        if not resolved.exists():
            raise ctx.error(path, f"no such file or directory: {value!r} (looked for {resolved}); "
                                  "paths are relative to the folder that holds tfjs.yaml")
        return resolved


class ExistingFile(ExistingPath):
    """A regular file in the project. Its bytes are fingerprinted by role, so output_settings says only "given"."""

    def parse(self, ctx: Context, path: str, value: Any) -> Path:
        resolved = super().parse(ctx, path, value)
        if not resolved.is_file():
            kind = "a directory" if resolved.is_dir() else "not a regular file (a FIFO or device?)"
            raise ctx.error(path, f"{value!r} is {kind}, expected a file ({resolved}); name the file itself")
        return resolved

    def output(self, value: Any) -> bool:
        return bool(value)


class FileMap(Kind):
    """NAME -> file (metadata); records hold sorted (name, path) pairs, output_settings the names."""

    merges = True

    def parse(self, ctx: Context, path: str, value: Any) -> dict[str, Path]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ctx.error(path, f"expected a mapping of name to JSON file, got {describe(value)}")
        return {name: ExistingFile().parse(ctx, f"{path}.{name}", raw) for name, raw in value.items()}

    def finish(self, parsed: dict[str, Path]) -> tuple[tuple[str, Path], ...]:
        return tuple(sorted(parsed.items()))

    def output(self, value: tuple[tuple[str, Path], ...]) -> list[str]:
        return sorted(name for name, _ in value)

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": {"type": "string"}}


class Section(Kind):
    """A mapping whose keys are a record's own table (budgets, accuracy, cache); merged key by key."""

    merges = True

    def __init__(self, record: type) -> None:
        self.record = record

    def parse(self, ctx: Context, path: str, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ctx.error(path, f"expected a mapping with keys {', '.join(keys_of(self.record))}, got {describe(value)}")
        return read_keys(ctx, path, value, self.record)

    def finish(self, parsed: dict[str, Any]) -> Any:
        return build(self.record, parsed)

    def output(self, value: Any) -> dict[str, Any]:
        return {name: spec.kind.output(getattr(value, name)) for name, spec in keys_of(self.record).items() if spec.output}

    def schema(self) -> dict[str, Any]:
        properties = {name: spec.schema() for name, spec in keys_of(self.record).items()}
        return {"type": "object", "additionalProperties": False, "properties": properties}


class Toggle(Section):
    """true, false, or a mapping of the record's keys, which also means true (``verify: {samples: 4}``).

    The record's ``enabled`` field (not a key) says which; merged with `defaults:` key by key, so
    ``false`` on a model turns off a ``true`` in `defaults:`."""

    def parse(self, ctx: Context, path: str, value: Any) -> dict[str, Any]:
        if value is None or isinstance(value, bool):
            return {"enabled": bool(value)}
        if not isinstance(value, dict):
            raise ctx.error(path, f"expected true, false or a mapping with keys {', '.join(keys_of(self.record))}, "
                                  f"got {describe(value)}")
        return {"enabled": True, **super().parse(ctx, path, value)}

    def finish(self, parsed: dict[str, Any]) -> Any:
        keys = {name: value for name, value in parsed.items() if name != "enabled"}
        return build(self.record, keys, enabled=parsed.get("enabled", False))

    def schema(self) -> dict[str, Any]:
        return {"oneOf": [{"type": "boolean"}, super().schema()]}


class QuantizeRules(Kind):
    """none | a dtype for every float32 weight | {dtype: [weight-name globs]}."""

    def __init__(self, record: Callable[[tuple[tuple[str, tuple[str, ...]], ...]], Any], dtypes: tuple[str, ...]) -> None:
        self.record, self.dtypes = record, dtypes

    def parse(self, ctx: Context, path: str, value: Any) -> Any:
        if value in (None, "none", False):
            return self.record(())
        if isinstance(value, str):
            if value not in self.dtypes:
                choices = ("none",) + self.dtypes
                raise ctx.error(path, f"expected one of {', '.join(choices)} or a mapping of dtype to weight-name globs, "
                                      f"got {value!r}{did_you_mean(value, choices)}")
            return self.record(((value, ("*",)),))
        if not isinstance(value, dict):
            raise ctx.error(path, f"expected none, {', '.join(self.dtypes)} or a mapping, got {describe(value)}")
        patterns = []
        for dtype, globs in value.items():
            check_known(ctx, path, dtype, self.dtypes)
            patterns.append((dtype, ListOf(Text()).parse(ctx, f"{path}.{dtype}", globs)))
        return self.record(tuple(patterns))

    def output(self, value: Any) -> dict[str, list[str]]:
        return {dtype: list(globs) for dtype, globs in value.patterns}

    def schema(self) -> dict[str, Any]:
        globs = ListOf(Text()).schema()
        return {"oneOf": [{"enum": ["none", *self.dtypes, None]},
                          {"type": "object", "additionalProperties": False, "properties": {d: globs for d in self.dtypes}}]}


_TIMING = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|x)\s*$")
_TIMING_BOUNDS = {"ms": (0.001, 3_600_000.0, "0.001ms", "3600s"), "x": (0.001, 1_000_000.0, "0.001x", "1000000x")}


class Timing(Kind):
    """A time limit: milliseconds (40ms, 1.5s, or a bare number) or a multiple of ``bench --calibrate``'s
    reference workload (12x). ``record(amount, unit)`` builds the value, unit "ms" or "x"."""

    def __init__(self, record: Callable[[float, str], Any]) -> None:
        self.record = record

    def parse(self, ctx: Context, path: str, value: Any) -> Any:
        match = _TIMING.match(value) if isinstance(value, str) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            amount, unit = float(value) if value < 1e300 else float("inf"), "ms"
        elif match:
            amount, unit = float(match[1]), match[2]
        else:
            raise ctx.error(path, f"expected a time such as 40ms, 1.5s or 12x (times the calibration workload), "
                                  f"got {describe(value)}")
        amount, unit = (amount * 1000, "ms") if unit == "s" else (amount, unit)
        low, high, shown_low, shown_high = _TIMING_BOUNDS[unit]
        if not low <= amount <= high:
            raise ctx.error(path, f"expected a {'multiple' if unit == 'x' else 'time'} from {shown_low} to "
                                  f"{shown_high}, got {describe(value)}")
        return self.record(amount, unit)

    def bounds(self) -> tuple[str, str]:
        return "0.001ms or 0.001x", "3600s or 1000000x"

    def output(self, value: Any) -> str:
        return str(value)

    def schema(self) -> dict[str, Any]:
        low, high, _, _ = _TIMING_BOUNDS["ms"]
        return {"oneOf": [{"type": "number", "minimum": low, "maximum": high},
                          {"type": "string", "pattern": _TIMING.pattern}]}


class PerBackend(Kind):
    """A mapping of TF.js backend to ``item``; records hold (backend, value) pairs in ``backends`` order."""

    def __init__(self, item: Kind, backends: tuple[str, ...]) -> None:
        self.item, self.backends = item, backends

    def parse(self, ctx: Context, path: str, value: Any) -> tuple[tuple[str, Any], ...]:
        if value is None:
            return ()
        if not isinstance(value, dict):
            raise ctx.error(path, f"expected a mapping of backend ({', '.join(self.backends)}) to a limit, "
                                  f"got {describe(value)}")
        for name in value:
            check_known(ctx, path, name, self.backends)
        return tuple((name, self.item.parse(ctx, f"{path}.{name}", value[name])) for name in self.backends
                     if name in value)

    def bounds(self) -> tuple[str, str] | None:
        return self.item.bounds()

    def output(self, value: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
        return {name: self.item.output(item) for name, item in value}

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": False,
                "properties": {name: self.item.schema() for name in self.backends}}
