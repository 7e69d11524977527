"""The optional remote build cache (``cache.remote``): any HTTP server that answers GET/PUT/HEAD.

Same shape as Bazel's HTTP cache, so bazel-remote or nginx WebDAV serve it:
``URL/ac/<fingerprint>`` holds a lock entry (JSON), ``URL/cas/<sha256>`` a file. CI
pushes what it builds; other machines fetch into their local cache, then restore
from there (which re-verifies every hash). Blobs are pushed before the entry, so a
reader never finds an entry whose files are not there yet.

It is an optimisation only, and the server may be slow, broken or hostile. So every
failure (an HTTP error, a refused connection, a body cut short, a wrong hash, a full
local disk) becomes one RemoteCacheError, which the builder turns into one warning
before carrying on without the remote; after a failure this object refuses every
further call, so nothing retries. Time is bounded in total, not per socket read:
each request runs on a helper thread (``_Exchange``) and the build thread waits for
each of its parts only until the request's deadline, so a server that trickles one
byte at a time cannot hold a build longer than ``$TFJS_BUILD_CACHE_DEADLINE`` seconds
per request, nor ``BUDGET_FACTOR`` times that for the whole build. Sizes are bounded
too: an entry by ``MAX_ENTRY_BYTES``, a blob by the size its entry declares.
Credentials: ``https://user:pass@host`` in the URL, or a bearer token in
``$TFJS_BUILD_CACHE_TOKEN``; messages show URLs only through ``redact``.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import requests

from tfjs_build.engine.local_cache import LocalCache
from tfjs_build.engine.lockfile import LockEntry
from tfjs_build.errors import environment_fault
from tfjs_build.util.urls import join_url, redact, server_text

TOKEN_ENV = "TFJS_BUILD_CACHE_TOKEN"
DEADLINE_ENV = "TFJS_BUILD_CACHE_DEADLINE"
DEFAULT_DEADLINE = 60.0  # seconds for one request, start to last byte
BUDGET_FACTOR = 5  # the whole build spends at most this many deadlines on the remote
CONNECT_TIMEOUT = 5.0  # a host that drops packets fails fast
FIRST_BYTE_TIMEOUT = 10.0  # a server that accepts and says nothing fails before the deadline
MAX_ENTRY_BYTES = 64 << 20
FETCHERS = 8  # models fetch_all fetches at once: a fetch waits on the remote's latency, not on this machine
_BLOCK = 1 << 16
_END = object()  # the last part of an exchange
T = TypeVar("T")


class RemoteCacheError(Exception):
    """The remote cache failed or refused a request; the message names the URL (without credentials)."""


def request_deadline() -> float:
    """Seconds one request may take: ``$TFJS_BUILD_CACHE_DEADLINE`` or the default."""
    raw = os.environ.get(DEADLINE_ENV)
    if raw is None:
        return DEFAULT_DEADLINE
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= 3600:
        raise RemoteCacheError(f"${DEADLINE_ENV}={raw[:40]!r}: expected the seconds one request may take (0 to 3600)")
    return seconds


class _Exchange:
    """One HTTP request on a helper thread, handing its status and body blocks to the build thread.

    The helper owns only the socket: the build thread does every local write and decides
    when to give up. A given-up helper stops at its next block, or dies with its socket.
    """

    def __init__(self, session: requests.Session, method: str, url: str, timeout: float, kwargs: dict[str, Any]) -> None:
        self._parts: queue.Queue[Any] = queue.Queue(maxsize=4)
        self._cancelled = threading.Event()
        args = (session, method, url, timeout, kwargs)
        threading.Thread(target=self._run, args=args, daemon=True, name="tfjs-build-remote-cache").start()

    def _run(self, session: requests.Session, method: str, url: str, timeout: float, kwargs: dict[str, Any]) -> None:
        try:
            timeouts = (min(CONNECT_TIMEOUT, timeout), min(FIRST_BYTE_TIMEOUT, timeout))
            with session.request(method, url, stream=True, allow_redirects=False, timeout=timeouts,
                                 **kwargs) as response:
                if not self._put((response.status_code, response.reason)):
                    return
                for block in response.iter_content(_BLOCK):
                    if not self._put(block):
                        return
            self._put(_END)
        except Exception as exc:  # any failure of the transfer: the build thread reports it
            self._put(exc)

    def _put(self, item: object) -> bool:
        while not self._cancelled.is_set():
            try:
                self._parts.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def take(self, deadline: float, what: str, late: str) -> Any:
        """The next part, or RemoteCacheError when it fails or is not there by ``deadline``."""
        try:
            part = self._parts.get(timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Empty:
            raise RemoteCacheError(f"{what}: {late}") from None
        if isinstance(part, Exception):
            raise RemoteCacheError(f"{what}: {type(part).__name__}: {_transport_problem(part)}")
        return part

    def cancel(self) -> None:
        self._cancelled.set()


def _transport_problem(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    if isinstance(exc, requests.ConnectionError):
        return "cannot reach it"
    return "the transfer failed"


def _local_fault(where: str, exc: OSError) -> RemoteCacheError:
    return RemoteCacheError(f"{where}: cannot store it in the local cache: {environment_fault(exc) or exc}")


class RemoteCache:
    def __init__(self, url: str, local: LocalCache, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url.rstrip("/")
        self.local = local
        self.session = requests.Session()
        if token := os.environ.get(TOKEN_ENV):
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.clock = clock
        self.failure: str | None = None  # set by the first failure; every later call is refused
        try:
            self.deadline = request_deadline()
        except RemoteCacheError as exc:
            self.deadline, self.failure = DEFAULT_DEADLINE, str(exc)
        self.budget_end = clock() + BUDGET_FACTOR * self.deadline

    def fetch(self, fingerprint: str) -> bool:
        """Copy the entry for ``fingerprint`` and its blobs into the local cache; False if the remote lacks it."""
        return self._guarded(lambda: self._fetch(fingerprint))

    def fetch_all(self, fingerprints: Sequence[str]) -> set[str]:
        """``fetch`` each fingerprint: those the remote had. The first alone (a broken remote fails one request,
        as before), then the rest FETCHERS at a time: an assemble step restores every model from the remote, and
        one after another its requests would wait out one round trip each. The first failure (in
        ``fingerprints`` order) is raised once every fetch has ended; fetches that start after it send nothing."""
        from concurrent.futures import ThreadPoolExecutor  # only when fetching: a no-op build never does

        def attempt(fingerprint: str) -> bool | RemoteCacheError:
            try:
                return self.fetch(fingerprint)
            except RemoteCacheError as exc:
                return exc

        found = {fingerprint for fingerprint in fingerprints[:1] if self.fetch(fingerprint)}
        with ThreadPoolExecutor(max(1, min(FETCHERS, len(fingerprints) - 1))) as pool:
            outcomes = list(pool.map(attempt, fingerprints[1:]))
        for outcome in outcomes:
            if isinstance(outcome, RemoteCacheError):
                raise outcome
        return found | {fingerprint for fingerprint, got in zip(fingerprints[1:], outcomes, strict=True) if got}

    def push(self, entry: LockEntry) -> None:
        """Upload the blobs the remote lacks, then the entry."""
        self._guarded(lambda: self._push(entry))

    def close(self) -> None:
        self.session.close()

    def _guarded(self, work: Callable[[], T]) -> T:
        if self.failure is not None:
            raise RemoteCacheError(self.failure)
        try:
            return work()
        except RemoteCacheError as exc:
            self.failure = str(exc)
            raise

    def _fetch(self, fingerprint: str) -> bool:
        body = io.BytesIO()
        if self._request("GET", f"ac/{fingerprint}", ok=(200, 404), sink=body.write, limit=MAX_ENTRY_BYTES) == 404:
            return False
        where = redact(join_url(self.url, f"ac/{fingerprint}"))
        try:
            entry = LockEntry.from_json(json.loads(body.getvalue()))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise RemoteCacheError(f"{where}: not a cache entry ({server_text(exc)})") from None
        if entry.fingerprint != fingerprint:
            raise RemoteCacheError(f"{where}: holds the entry of {entry.fingerprint}")
        for f in entry.files:
            if not self.local.blob(f.sha256).exists():
                self._download_blob(f.sha256, f.size)
        try:
            self.local.add_entry(entry)
        except OSError as exc:
            raise _local_fault(where, exc) from None
        return True

    def _download_blob(self, sha256: str, size: int) -> None:
        """GET a blob into the local cache, no longer than ``size`` bytes, kept only when its hash matches."""
        where = redact(join_url(self.url, f"cas/{sha256}"))
        digest = hashlib.sha256()
        try:
            with self.local.new_blob(sha256) as tmp, open(tmp, "wb") as out:
                def sink(block: bytes) -> None:
                    digest.update(block)
                    out.write(block)

                self._request("GET", f"cas/{sha256}", sink=sink, limit=size)
                if digest.hexdigest() != sha256:
                    raise RemoteCacheError(f"{where}: content does not match its hash")
        except OSError as exc:  # network faults arrive as RemoteCacheError: this is the local disk
            raise _local_fault(where, exc) from None

    def _push(self, entry: LockEntry) -> None:
        for f in entry.files:
            if self._request("HEAD", f"cas/{f.sha256}", ok=(200, 404)) == 404:
                try:
                    with open(self.local.blob(f.sha256), "rb") as data:
                        self._request("PUT", f"cas/{f.sha256}", ok=(200, 201, 204), data=data)
                except OSError as exc:
                    raise _local_fault(redact(join_url(self.url, f"cas/{f.sha256}")), exc) from None
        body = json.dumps(entry.to_json(), sort_keys=True).encode("utf-8")
        self._request("PUT", f"ac/{entry.fingerprint}", ok=(200, 201, 204), data=body)

    def _request(self, method: str, key: str, ok: tuple[int, ...] = (200,), *,
                 sink: Callable[[bytes], object] | None = None, limit: int = 0, **kwargs: Any) -> int:
        """Send one request and hand its body to ``sink``; the status, or RemoteCacheError. Bounded by the
        request deadline and what is left of the build's budget, whichever comes first."""
        url = join_url(self.url, key)
        what = f"{method} {redact(url)}"
        budget = f"this build's time for the remote cache ({BUDGET_FACTOR * self.deadline:g} s)"
        left = self.budget_end - self.clock()
        if left <= 0:
            raise RemoteCacheError(f"{what}: not sent, {budget} is used up")
        deadline = time.monotonic() + min(self.deadline, left)
        late = (f"no complete answer within {self.deadline:g} s (${DEADLINE_ENV})" if left > self.deadline
                else f"{budget} ran out")
        exchange = _Exchange(self.session, method, url, self.deadline, kwargs)
        try:
            status, reason = exchange.take(deadline, what, late)
            if status not in ok:
                raise RemoteCacheError(f"{what}: HTTP {status} {server_text(reason, 60)}")
            if sink is not None and status == 200:
                self._receive(exchange, deadline, what, late, sink, limit)
            return int(status)
        finally:
            exchange.cancel()

    def _receive(self, exchange: _Exchange, deadline: float, what: str, late: str,
                 sink: Callable[[bytes], object], limit: int) -> None:
        received = 0
        while (block := exchange.take(deadline, what, late)) is not _END:
            received += len(block)
            if received > limit:
                raise RemoteCacheError(f"{what}: longer than the {limit} bytes expected")
            sink(block)

