"""A publish target's options from tfjs.yaml, read with typed getters that fail with file:line:col.

Each target module declares its keys once; unknown keys get a "did you mean", and keys
that would hold a secret (``token: ...``) are refused: secrets come only from environment
variables, named in tfjs.yaml by ``*_env`` keys, so they never land in git or in output.
"""

from __future__ import annotations

import os

from tfjs_build.config import PublishTarget, did_you_mean
from tfjs_build.errors import ConfigError

_SECRET_WORDS = ("token", "password", "secret", "access_key", "credentials")


class Options:
    def __init__(self, target: PublishTarget, known: tuple[str, ...]) -> None:
        self.target = target
        self.values = dict(target.options)
        for key in self.values:
            if key not in known:
                raise self.error(key, _unknown_key_message(key, known))

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.target.where(key)}: {message}")

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.values.get(key, default)
        if value is None and required:
            raise self.error(key, f"missing required key {key!r} for a publish target of type {self.target.type}")
        if value is not None and (not isinstance(value, str) or not value):
            raise self.error(key, f"expected a non-empty string, got {value!r}")
        return value

    def url(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.string(key, default, required=required)
        if value is not None and not value.startswith(("https://", "http://")):
            raise self.error(key, f"expected an http:// or https:// URL, got {value!r}")
        return value.rstrip("/") if value else value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.values.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def env_name(self, key: str, default: str | None = None) -> str | None:
        """The NAME of an environment variable (not its value), checked for shape only."""
        name = self.string(key, default)
        if name is not None and not name.replace("_", "").isalnum():
            raise self.error(
                key, f"expected the name of an environment variable (such as GITHUB_TOKEN), got {name!r}"
            )
        return name

    def secret(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        """The value of the environment variable named by ``key``; never echoed in messages."""
        name = self.env_name(key, default)
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
    return f"unknown key{did_you_mean(key, known)}; expected one of {', '.join(known)}"
