"""The error types a user can cause, and the exit codes they map to.

Exit codes (documented in the README):
  0  success
  1  a check failed (budget, op support, accuracy)
  2  user error: bad config, missing source, unsupported model, bad arguments
  3  internal error (a bug in tfjs-build: please report it)
  130 interrupted (Ctrl-C or SIGTERM)
"""

from __future__ import annotations

import errno

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


class EnvironmentFault(TfjsBuildError):
    """The machine refused a file operation (full disk, read-only folder, a file in the way): not a bug."""


# The OSErrors a user fixes on their machine, with how; any other OSError stays an internal error.
_ENVIRONMENT_FIXES: dict[int, str] = {
    errno.ENOSPC: "free some disk space and run it again",
    errno.EDQUOT: "free some space within your disk quota and run it again",
    errno.EROFS: "run tfjs-build in a writable copy of the project",
    errno.EACCES: "make it writable for you (or run tfjs-build in a copy of the project you own)",
    errno.EPERM: "make it writable for you (or run tfjs-build in a copy of the project you own)",
    errno.ENOTDIR: "a file stands where tfjs-build needs a folder; move or delete that file",
    errno.EEXIST: "a file stands where tfjs-build needs a folder; move or delete that file",
    errno.EISDIR: "a folder stands where tfjs-build needs a file; move or delete that folder",
}


def environment_fault(exc: BaseException) -> EnvironmentFault | None:
    """``exc`` as a user error naming the path and the fix, or None when it may be a bug."""
    if not isinstance(exc, OSError) or exc.errno not in _ENVIRONMENT_FIXES:
        return None
    path = exc.filename if exc.filename is not None else "writing a file"
    return EnvironmentFault(f"{path}: {exc.strerror}; {_ENVIRONMENT_FIXES[exc.errno]}")
