"""A hostile remote cache for tests: an honest in-memory GET/PUT/HEAD store until told to misbehave.

A stand-in for a broken or malicious bazel-remote / WebDAV server, on 127.0.0.1. Machine A
builds and pushes through it honestly; then ``server.fault = Fault(...)`` makes every
matching request (method, and a path part such as ``/cas/``) fail in one of ``KINDS``,
and machine B builds through it. ``server.log`` records every request line received, and
``server.max_in_flight`` the most requests it was answering at once; with ``server.gather = N`` each
GET of an entry waits (at most GATHER_WAIT seconds) until N requests are in flight, so that a client
fetching one entry at a time shows as never more than one in flight.
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ESCAPE = "../../../../outside/x.sh"
KINDS = (
    "http-500",        # an error status
    "redirect",        # 302 to a file:// URL
    "hang",            # reads the request, never answers
    "slow-headers",    # the status line one byte at a time
    "trickle",         # honest headers, then one body byte every TRICKLE_GAP seconds
    "truncate",        # Content-Length says N, half of it arrives, then the connection closes
    "truncate-chunked",  # chunked encoding cut off mid-chunk
    "reset",           # TCP RST instead of an answer
    "garbage",         # bytes that are not HTTP
    "wrong-hash",      # a blob of the right size with other bytes
    "oversize",        # a blob longer than its entry says
    "bad-path",        # an entry listing a file outside the model folder
    "not-json",        # an entry that is not JSON
    "deep-json",       # an entry nested 100,000 deep
    "wrong-entry",     # the entry of another fingerprint
)
TRICKLE_GAP = 0.3
GATHER_WAIT = 3.0


@dataclass(frozen=True)
class Fault:
    kind: str
    path_part: str = "/"  # requests whose path contains this, e.g. "/cas/" or "/ac/"
    methods: tuple[str, ...] = ("GET", "HEAD", "PUT")

    def applies(self, method: str, path: str) -> bool:
        return method in self.methods and self.path_part in path


class HostileCache(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.store: dict[str, bytes] = {}
        self.fault: Fault | None = None
        self.log: list[str] = []
        self.stopping = threading.Event()
        self.gather = 0
        self.in_flight = self.max_in_flight = 0
        self.flight = threading.Condition()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a handler that reset its own connection fails on the way out: expected, not news

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/cache"


class _Handler(BaseHTTPRequestHandler):
    server: HostileCache
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet: the test reads server.log
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def _handle(self) -> None:
        server = self.server
        with server.flight:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
            server.flight.notify_all()
            if self.command == "GET" and "/ac/" in self.path:
                server.flight.wait_for(lambda: server.in_flight >= server.gather, timeout=GATHER_WAIT)
        try:
            self._answer_or_fault()
        finally:
            with server.flight:
                server.in_flight -= 1

    def _answer_or_fault(self) -> None:
        self.server.log.append(f"{self.command} {self.path}")
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))) if self.command == "PUT" else b""
        fault = self.server.fault
        if fault is not None and fault.applies(self.command, self.path):
            _FAULTS[fault.kind](self, self.server.store.get(self.path))
        elif self.command == "PUT":
            self.server.store[self.path] = body
            self._answer(201, b"")
        elif self.path in self.server.store:
            self._answer(200, self.server.store[self.path])
        else:
            self._answer(404, b"")

    def _answer(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Length": str(len(data)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _wait(self, seconds: float) -> bool:
        """Sleep; False once the server is stopping (so a hanging handler ends with the test)."""
        return not self.server.stopping.wait(seconds)


def _hang(handler: _Handler, stored: bytes | None) -> None:
    while handler._wait(0.2):
        pass
    handler.close_connection = True


def _slow_headers(handler: _Handler, stored: bytes | None) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Padding: " + b"x" * 10_000:
        if not handler._wait(TRICKLE_GAP / 3):
            break
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
    handler.close_connection = True


def _headers_for(handler: _Handler, stored: bytes | None, chunked: bool = False) -> bytes:
    """Send honest 200 headers for the stored body (or 1000 bytes); return that body."""
    data = stored or b"x" * 1000
    handler.send_response(200)
    handler.send_header(*(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(len(data)))))
    handler.end_headers()
    handler.close_connection = True
    return data


def _trickle(handler: _Handler, stored: bytes | None) -> None:
    for byte in _headers_for(handler, stored):
        if not handler._wait(TRICKLE_GAP):
            break
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()


def _truncate(handler: _Handler, stored: bytes | None) -> None:
    data = _headers_for(handler, stored)
    handler.wfile.write(data[: len(data) // 2])


def _truncate_chunked(handler: _Handler, stored: bytes | None) -> None:
    data = _headers_for(handler, stored, chunked=True)
    handler.wfile.write(f"{len(data):x}\r\n".encode() + data[: len(data) // 2])


def _reset(handler: _Handler, stored: bytes | None) -> None:
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True


def _garbage(handler: _Handler, stored: bytes | None) -> None:
    handler.wfile.write(b"\x00\xffSSH-2.0-not-http\r\n\r\n")
    handler.close_connection = True


def _wrong_hash(handler: _Handler, stored: bytes | None) -> None:
    data = stored or b"x"
    handler._answer(200, bytes(b ^ 0x55 for b in data))


def _entry_with(handler: _Handler, stored: bytes | None, change) -> None:
    entry = json.loads(stored) if stored else {"files": []}
    handler._answer(200, json.dumps(change(entry)).encode())


def _bad_path(entry: dict) -> dict:
    payload = b"#!/bin/sh\necho pwned\n"
    files = [*entry["files"], {"path": ESCAPE, "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}]
    return {**entry, "files": files}


_FAULTS = {
    "http-500": lambda h, s: h._answer(500, b"Internal Server Error: secret-in-body"),
    "redirect": lambda h, s: h._answer(302, b"", {"Location": "file:///etc/passwd"}),
    "hang": _hang,
    "slow-headers": _slow_headers,
    "trickle": _trickle,
    "truncate": _truncate,
    "truncate-chunked": _truncate_chunked,
    "reset": _reset,
    "garbage": _garbage,
    "wrong-hash": _wrong_hash,
    "oversize": lambda h, s: h._answer(200, (s or b"") + b"x" * 4096),
    "bad-path": lambda h, s: _entry_with(h, s, _bad_path),
    "not-json": lambda h, s: h._answer(200, b"<html>not a cache entry</html>"),
    "deep-json": lambda h, s: h._answer(200, b"[" * 100_000 + b"]" * 100_000),
    "wrong-entry": lambda h, s: _entry_with(h, s, lambda e: {**e, "fingerprint": "0" * 64}),
}
assert set(_FAULTS) == set(KINDS)


@contextmanager
def hostile_cache() -> Iterator[HostileCache]:
    server = HostileCache()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
