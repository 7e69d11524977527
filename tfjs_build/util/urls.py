"""URLs that may carry secrets: the one place that shows them safely and joins keys onto them.

A target or cache URL may hold ``user:password@`` or a signed query string (``?sig=...``).
Every URL that reaches a message, a log line or a printed plan goes through ``redact``;
every object URL is built by ``join_url``, which puts the key into the path, before the
query, instead of appending it to the end of the string.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]*[^\s\"'<>.,;:!?)]")  # not a trailing comma


def redact(url: str) -> str:
    """The URL without user:password@ and without a query or fragment (signed URLs carry secrets there)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # not a URL we can take apart (a bad port, a stray bracket): show no part of it
        return "<a malformed URL>"
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def redact_text(text: str) -> str:
    """``text`` (from a server, say) with every URL in it redacted."""
    return _URL_IN_TEXT.sub(lambda match: redact(match.group(0)), text)


def server_text(text: object, limit: int = 200, secrets: tuple[str, ...] = ()) -> str:
    """Words from a server or an exception, safe to print: printable characters only (no terminal escapes),
    our own ``secrets`` masked, URLs redacted, at most ``limit`` characters."""
    line = "".join(c for c in " ".join(str(text).split()) if c.isprintable())
    for secret in secrets:
        if secret:
            line = line.replace(secret, "***")
    line = redact_text(line)
    return line if len(line) <= limit else line[:limit] + "..."


def join_url(base: str, key: str) -> str:
    """``base`` with the "/"-separated ``key`` added to its path; its credentials and query are kept."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/") + "/" + quote(key.lstrip("/"), safe="/")
    return urlunsplit(parts._replace(path=path))


def credentials(url: str) -> tuple[str, str] | None:
    """The ``user:password`` of ``url`` (percent-decoded), or None when it has none."""
    parts = urlsplit(url)
    if parts.username is None:
        return None
    return unquote(parts.username), unquote(parts.password or "")


def without_credentials(url: str) -> str:
    """``url`` without ``user:password@`` (the query stays: it is part of where the request goes)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc))
