"""The error types a user can cause, and the exit codes they map to.

Exit codes (documented in the README):
  0  success
  1  a check failed (budget, op support, accuracy)
  2  user error: bad config, missing source, unsupported model, bad arguments
  3  internal error (a bug in tfjs-build: please report it)
  130 interrupted (Ctrl-C)
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 3
EXIT_INTERRUPTED = 130


class TfjsBuildError(Exception):
    """Anything a user can cause and fix. Printed as a message, never a traceback."""

    exit_code = EXIT_USER_ERROR


class ConfigError(TfjsBuildError):
    """tfjs.yaml is malformed or names something that does not exist."""


class SourceError(TfjsBuildError):
    """A model's source is missing, unreadable or of an unsupported kind."""


class UnsupportedModelError(TfjsBuildError):
    """The model uses something TF.js (or the chosen output format) cannot run."""
