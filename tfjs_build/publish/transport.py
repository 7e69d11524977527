"""The one choke point for HTTP in publishing: retries with back-off, and no secrets in errors.

Rate limits (429, or 403 with ``retry-after`` / ``x-ratelimit-remaining: 0``) and
transient server errors are retried after the wait the server asks for, capped, so a
CI job slows down instead of failing. Error messages name the method, the URL without
credentials and the status, never a request header (where tokens live), and of a response
body only the ``message`` field of a JSON error (GitHub's shape), made safe by ``server_text``:
servers and proxies echo request headers into bodies.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from tfjs_build.errors import TfjsBuildError
from tfjs_build.util.urls import redact, server_text

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_ATTEMPTS = 5
MAX_WAIT = 60.0


class PublishError(TfjsBuildError):
    """A publish target refused or failed a request; the message says what to check."""


class Transport:
    def __init__(self, headers: dict[str, str], *, timeout: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.session = requests.Session()
        self.session.headers.update(headers)
        self.session.auth = _explicit_headers_only  # proxies from the environment still apply
        self.timeout = timeout
        self.sleep = sleep
        self.secrets = _secret_values(headers)

    def request(self, method: str, url: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any) -> requests.Response:
        """Send, retrying rate limits and transient failures; raise PublishError unless status in ``ok``."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.RequestException as exc:
                if attempt == MAX_ATTEMPTS:
                    raise PublishError(f"{method} {redact(url)}: {type(exc).__name__}: cannot reach the server") from None
                self.sleep(_backoff(attempt))
                continue
            if response.status_code in ok:
                return response
            wait = retry_wait(response, attempt)
            if wait is None or attempt == MAX_ATTEMPTS:
                raise PublishError(describe_failure(method, url, response, self.secrets))
            self.sleep(wait)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.session.close()


def _explicit_headers_only(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """A no-op auth: its presence stops requests from adding ~/.netrc credentials over ours."""
    return request


def retry_wait(response: requests.Response, attempt: int) -> float | None:
    """Seconds to wait before retrying ``response``, or None when retrying cannot help."""
    headers = response.headers
    rate_limited = response.status_code == 429 or (
        response.status_code == 403 and ("retry-after" in headers or headers.get("x-ratelimit-remaining") == "0")
    )
    if not rate_limited and response.status_code not in RETRY_STATUSES:
        return None
    if "retry-after" in headers:
        try:
            return min(max(float(headers["retry-after"]), 0.0), MAX_WAIT)
        except ValueError:
            pass
    if "x-ratelimit-reset" in headers:
        try:
            return min(max(float(headers["x-ratelimit-reset"]) - time.time(), 0.0) + 1.0, MAX_WAIT)
        except ValueError:
            pass
    return _backoff(attempt)


def _backoff(attempt: int) -> float:
    return min(2.0 ** (attempt - 1), MAX_WAIT)


def describe_failure(method: str, url: str, response: requests.Response, secrets: tuple[str, ...] = ()) -> str:
    message = server_message(response, secrets)
    status = f"{method} {redact(url)}: HTTP {response.status_code} {server_text(response.reason, 60)}".rstrip()
    return status + (f": {message}" if message else "")


def server_message(response: requests.Response, secrets: tuple[str, ...] = ()) -> str:
    """The ``message`` of a JSON error body, safe to print; "" for any other body, which is never shown."""
    try:
        data = response.json()
    except (ValueError, RecursionError):
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    return server_text(message, secrets=secrets) if isinstance(message, str) else ""


def _secret_values(headers: dict[str, str]) -> tuple[str, ...]:
    """What must never be printed: the credentials this transport sends (a token, its scheme-less part)."""
    values = [v for k, v in headers.items() if k.lower() == "authorization"]
    return tuple(values + [v.split(" ", 1)[1] for v in values if " " in v])
