"""A publish target's options from tfjs.yaml, validated against the target's own options record.

Each target module declares its keys once, as a frozen dataclass whose fields carry
config's ``key(...)`` (the same field-table mechanism as tfjs.yaml's model keys: kinds,
"did you mean", file:line:col messages). Keys that would hold a secret (``token: ...``)
are refused: secrets come only from environment variables, named in tfjs.yaml by
``*_env`` keys, so they never land in git or in output. A key set to null counts as absent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Generic, TypeVar

from tfjs_build.config import PublishTarget
from tfjs_build.config.fields import build, read_keys, unknown_key_message
from tfjs_build.config.fields import key as option  # what target modules tag their options' fields with
from tfjs_build.errors import ConfigError

__all__ = ["Options", "option"]
_SECRET_WORDS = ("token", "password", "secret", "access_key", "credentials")
Record = TypeVar("Record")


class _TargetPositions:
    """Errors at the target's recorded positions (config's Context, for a publish target)."""

    project = Path()  # options name no project files

    def __init__(self, target: PublishTarget) -> None:
        self.target = target

    def error(self, path: str, message: str, at_key: bool = False) -> ConfigError:
        return ConfigError(f"{self.target.where(path.removeprefix(f'publish.{self.target.name}.'))}: {message}")


class Options(Generic[Record]):
    """``record``: the target's options, validated; ``values``: as written (to tell what was given)."""

    def __init__(self, target: PublishTarget, record: type[Record]) -> None:
        self.target = target
        self.values = {key: value for key, value in target.options if value is not None}
        parsed = read_keys(_TargetPositions(target), f"publish.{target.name}", self.values, record,
                           missing_at_key=True, unknown=_unknown_key_message)
        self.record: Record = build(record, parsed)

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.target.where(key)}: {message}")

    def secret(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        """The value of the environment variable named by option ``key``; never echoed in messages."""
        name = getattr(self.record, key) or default
        if required and name is None:
            raise self.error(key, f"missing required key {key!r}: the name of the environment variable to read")
        value = os.environ.get(name) if name else None
        if required and not value:
            raise self.error(
                key,
                f"environment variable {name} is not set; export it before publishing "
                "(the secret itself never goes in tfjs.yaml)",
            )
        return value or None


def _unknown_key_message(key: str, known: tuple[str, ...]) -> str:
    if any(word in key.lower() for word in _SECRET_WORDS) and not key.endswith("_env"):
        return (
            f"secrets are read from environment variables only; write `{key}_env: NAME_OF_VARIABLE` "
            f"instead of the value (known keys: {', '.join(known)})"
        )
    return unknown_key_message(key, known)
